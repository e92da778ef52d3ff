using TorchSharp;
using static TorchSharp.torch;
using Ts = TorchSharp.Modules;

namespace LoraLab.Training.Optimizers;

/// One parameter group's Adam hyper-parameters, read from TorchSharp's option objects.
readonly record struct AdamHyper(double Lr, double Beta1, double Beta2, double Eps, double WeightDecay, bool Amsgrad, bool Maximize);

/// A parameter's Adam state as TorchSharp stores it; `Advance` increments the step count and returns it.
readonly record struct AdamSlots(Tensor ExpAvg, Tensor ExpAvgSq, Tensor? MaxExpAvgSq, Func<long> Advance);

/// libtorch's fused Adam and AdamW kernels (`_fused_adam_` / `_fused_adamw_`, what PyTorch runs for `fused=True`):
/// one pass over each parameter, its gradient and both moments instead of nine separate operations, and no
/// temporaries. TorchSharp binds neither, so they are called through a TorchScript function compiled once. About a
/// third of the per-operation update's time on `small`, equal to it within rounding after three steps (the kernel forms
/// the first moment with lerp; BENCHMARKS.md, "What made the step fast and lean").
public static class FusedAdamKernel
{
    // The `_scaled` twins exist because passing grad_scale = 1 on unclipped steps is not free: it slowed small full
    // fine-tuning's update by about a third (BENCHMARKS.md, "2026-11-29 from 18:33").
    const string Script = @"
def adamw(params: List[Tensor], grads: List[Tensor], m: List[Tensor], v: List[Tensor], vmax: List[Tensor], steps: List[Tensor],
          lr: float, beta1: float, beta2: float, weight_decay: float, eps: float, amsgrad: bool, maximize: bool):
    torch._fused_adamw_(params, grads, m, v, vmax, steps, lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay,
                        eps=eps, amsgrad=amsgrad, maximize=maximize)

def adamw_scaled(params: List[Tensor], grads: List[Tensor], m: List[Tensor], v: List[Tensor], vmax: List[Tensor], steps: List[Tensor],
          lr: float, beta1: float, beta2: float, weight_decay: float, eps: float, amsgrad: bool, maximize: bool, grad_scale: Tensor):
    torch._fused_adamw_(params, grads, m, v, vmax, steps, lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay,
                        eps=eps, amsgrad=amsgrad, maximize=maximize, grad_scale=grad_scale)

def adam(params: List[Tensor], grads: List[Tensor], m: List[Tensor], v: List[Tensor], vmax: List[Tensor], steps: List[Tensor],
         lr: float, beta1: float, beta2: float, weight_decay: float, eps: float, amsgrad: bool, maximize: bool):
    torch._fused_adam_(params, grads, m, v, vmax, steps, lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay,
                       eps=eps, amsgrad=amsgrad, maximize=maximize)

def adam_scaled(params: List[Tensor], grads: List[Tensor], m: List[Tensor], v: List[Tensor], vmax: List[Tensor], steps: List[Tensor],
         lr: float, beta1: float, beta2: float, weight_decay: float, eps: float, amsgrad: bool, maximize: bool, grad_scale: Tensor):
    torch._fused_adam_(params, grads, m, v, vmax, steps, lr=lr, beta1=beta1, beta2=beta2, weight_decay=weight_decay,
                       eps=eps, amsgrad=amsgrad, maximize=maximize, grad_scale=grad_scale)
";

    static readonly Lazy<jit.CompilationUnit?> Unit = new(() =>
    {
        try { return jit.compile(Script); }
        catch (Exception) { return null; } // a libtorch without the kernels: callers fall back to per-parameter updates
    });

    public static bool Available => Unit.Value is not null;

    /// Updates every parameter that has a gradient, one kernel call per group, dtype and device. Gradients are
    /// multiplied by `gradFactor` inside the kernel (its grad_scale divides them by 1 / gradFactor), so clipping costs
    /// no pass of its own over the gradients.
    internal static void Step(IEnumerable<Ts.ParamGroup> groups, TorchSharp.Utils.OrderedDict<IntPtr, Ts.OptimizerState> state,
        bool decoupled, Func<Ts.ParamGroup, AdamHyper> hyper, Func<Ts.OptimizerState, AdamSlots> slots, double gradFactor = 1)
    {
        using var _ = no_grad();
        foreach (var group in groups)
        {
            var h = hyper(group);
            using var scope = NewDisposeScope();
            var items = new List<(Tensor P, Tensor G, AdamSlots S)>();
            foreach (var p in group.Parameters)
                if (p.grad is { } g) items.Add((p, g, slots(state[p.Handle])));
            foreach (var batch in items.GroupBy(i => (i.P.dtype, i.P.device.ToString())))
            {
                var list = batch.ToList();
                // The kernel reads the step count from a tensor per parameter, already incremented (as PyTorch does).
                var steps = list.Select(i => full(1, (float)i.S.Advance(), dtype: ScalarType.Float32, device: i.P.device)).ToArray();
                var vmax = h.Amsgrad ? list.Select(i => i.S.MaxExpAvgSq!).ToArray() : Array.Empty<Tensor>();
                var args = new List<object>
                {
                    list.Select(i => (Tensor)i.P).ToArray(), list.Select(i => i.G).ToArray(),
                    list.Select(i => i.S.ExpAvg).ToArray(), list.Select(i => i.S.ExpAvgSq).ToArray(), vmax, steps,
                    h.Lr, h.Beta1, h.Beta2, h.WeightDecay, h.Eps, h.Amsgrad, h.Maximize,
                };
                string name = decoupled ? "adamw" : "adam";
                if (gradFactor != 1)
                {
                    // The kernel reads the scale as float32 from a tensor on the parameters' device.
                    args.Add(full(1, (float)(1 / gradFactor), dtype: ScalarType.Float32, device: list[0].P.device));
                    name += "_scaled";
                }
                Unit.Value!.invoke(name, args.ToArray());
            }
        }
    }
}
