using static TorchSharp.torch;

namespace LoraLab.Adapters;

/// A PEFT adapter read from disk and checked against a model, not yet attached: its config and, per module in model
/// order, the site (path, rank, scaling) with its float32 A (r, in), B (out, r) and, for DoRA, magnitude M (out). Owns the tensors.
public sealed record AdapterWeights(LoraConfig Config, IReadOnlyList<(LoraSite Site, Tensor A, Tensor B, Tensor? M)> Modules) : IDisposable
{
    public void Dispose()
    {
        foreach (var (_, a, b, m) in Modules) { a.Dispose(); b.Dispose(); m?.Dispose(); }
    }
}
