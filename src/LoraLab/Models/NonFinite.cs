using static TorchSharp.torch;

namespace LoraLab.Models;

/// Weights read from a file must be finite: a NaN or Inf in a base, adapter or checkpoint tensor would otherwise
/// surface far away (NaN logits, a "diverged" loss, an adapter that seems to do nothing). One reduction per tensor.
public static class NonFinite
{
    public static void Check(Tensor t, string file, string tensorName)
    {
        if (!t.is_floating_point()) return;
        using var finite = isfinite(t);
        if (finite.all().item<bool>()) return;
        using var bad = finite.logical_not().sum();
        throw new UserException($"{file}: tensor {tensorName} has {bad.item<long>()} NaN/Inf values");
    }
}
