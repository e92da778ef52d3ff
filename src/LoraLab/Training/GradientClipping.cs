using LoraLab.Training.Optimizers;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// Gradient-norm clipping as `torch.nn.utils.clip_grad_norm_` defines it: the 2-norm over all gradients together,
/// and a coefficient max_norm / (norm + 1e-6) capped at 1. libtorch's version multiplies every gradient by the
/// coefficient, even when it is 1; here the multiplication is skipped at 1 and otherwise handed to the optimizer's
/// own pass over the gradients (IGradientFactor), so clipping costs one read of the gradients instead of two reads
/// and a write.
public static class GradientClipping
{
    /// The 2-norm of all gradients together (0 when none has one); one read of each gradient.
    public static double TotalNorm(IEnumerable<Parameter> parameters)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Each norm in fp32 (a weight stored in half precision has a half-precision gradient), so they stack and read as one float.
        var norms = parameters.Where(p => p.grad is not null).Select(p => p.grad!.norm().to(ScalarType.Float32)).ToArray();
        return norms.Length == 0 ? 0 : stack(norms).norm().item<float>();
    }

    /// What the gradients are multiplied by: max_norm / (norm + 1e-6), at most 1 (NaN for a non-finite norm, which
    /// then poisons the update as PyTorch's does).
    public static double Coefficient(double norm, double maxNorm)
    {
        double c = maxNorm / (norm + 1e-6);
        return double.IsNaN(c) || c < 1 ? c : 1;
    }

    /// Arranges for the optimizer's next step to see the gradients multiplied by `coefficient`: nothing at 1, the
    /// optimizer's gradient factor where it has one, else an in-place multiplication.
    public static void ScaleForStep(optim.Optimizer opt, IEnumerable<Parameter> parameters, double coefficient)
    {
        if (coefficient == 1) return;
        if (opt is IGradientFactor f) { f.GradientFactor = coefficient; return; }
        using var _ = no_grad();
        foreach (var p in parameters) p.grad?.mul_(coefficient);
    }
}
