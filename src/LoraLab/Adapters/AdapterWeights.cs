using static TorchSharp.torch;

namespace LoraLab.Adapters;

/// A PEFT adapter read from disk and checked against a model, not yet attached: its config and, per module in model
/// order, the site (path, rank, scaling) with its float32 A (r, in) and B (out, r). Owns the tensors.
public sealed record AdapterWeights(LoraConfig Config, IReadOnlyList<(LoraSite Site, Tensor A, Tensor B)> Modules) : IDisposable
{
    public void Dispose()
    {
        foreach (var (_, a, b) in Modules) { a.Dispose(); b.Dispose(); }
    }
}
