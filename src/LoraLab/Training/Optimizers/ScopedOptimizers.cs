using TorchSharp;
using static TorchSharp.torch;
using Ts = TorchSharp.Modules;

namespace LoraLab.Training.Optimizers;

// TorchSharp's managed optimizers run a whole step inside one dispose scope, so every temporary of every parameter
// lives until the last parameter is updated: AdamW's denominator costs two weight-sized tensors per parameter, which
// in full fine-tuning is twice the model on top of weights, gradients and moments (measured: the step's peak).
// Adam and AdamW here run libtorch's fused kernels (FusedAdamKernel: no temporaries, one pass); where those are
// missing, and for SGD, the same operations as TorchSharp's run in the same order (bit-identical updates) with each
// parameter's temporaries freed before the next. State, options and save/load are TorchSharp's; the class names
// match TorchSharp's so optimizer files saved by either load in the other.

/// An optimizer that multiplies the gradients by a factor within its next update: gradient clipping then needs no
/// pass of its own over the gradients (on small full fine-tuning that pass reads and writes 56 M floats).
public interface IGradientFactor
{
    /// Multiplies every gradient in the next `step()` only; reset to 1 by that step. The gradients themselves may or
    /// may not be changed in place.
    double GradientFactor { get; set; }
}

/// AdamW (decoupled weight decay).
public sealed class AdamW : Ts.AdamW, IGradientFactor, IMomentState
{
    public AdamW(IEnumerable<Ts.Parameter> parameters, double lr, double beta1, double beta2, double eps, double weightDecay, bool amsgrad = false)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad) { }

    /// False: the per-parameter update, bit-identical to TorchSharp's (tests compare the two paths).
    public bool Fused { get; init; } = true;

    public double GradientFactor { get; set; } = 1;

    public override Tensor step(Func<Tensor>? closure = null)
    {
        var loss = StepRunner.Closure(closure);
        double factor = GradientFactor;
        GradientFactor = 1;
        AdamStep.Run(_parameter_groups, _state, decoupled: true, Fused, factor, g =>
        {
            var o = (Options)g.Options;
            return new AdamHyper(o.LearningRate!.Value, o.beta1!.Value, o.beta2!.Value, o.eps!.Value, o.weight_decay!.Value, o.amsgrad!.Value, o.maximize!.Value);
        }, st => { var s = (State)st; return new AdamSlots(s.exp_avg, s.exp_avg_sq, s.max_exp_avg_sq, () => ++s.step); });
        return loss!;
    }

    public Moments MomentsOf(Ts.Parameter parameter) { var s = (State)_state[parameter.Handle]; return new(s.exp_avg, s.exp_avg_sq, s.max_exp_avg_sq); }
}

/// Adam (weight decay added to the gradient, L2).
public sealed class Adam : Ts.Adam, IGradientFactor, IMomentState
{
    public Adam(IEnumerable<Ts.Parameter> parameters, double lr, double beta1, double beta2, double eps, double weightDecay, bool amsgrad = false)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad) { }

    /// False: the per-parameter update, bit-identical to TorchSharp's (tests compare the two paths).
    public bool Fused { get; init; } = true;

    public double GradientFactor { get; set; } = 1;

    public override Tensor step(Func<Tensor>? closure = null)
    {
        var loss = StepRunner.Closure(closure);
        double factor = GradientFactor;
        GradientFactor = 1;
        AdamStep.Run(_parameter_groups, _state, decoupled: false, Fused, factor, g =>
        {
            var o = (Options)g.Options;
            return new AdamHyper(o.LearningRate!.Value, o.beta1!.Value, o.beta2!.Value, o.eps!.Value, o.weight_decay!.Value, o.amsgrad!.Value, o.maximize!.Value);
        }, st => { var s = (State)st; return new AdamSlots(s.exp_avg, s.exp_avg_sq, s.max_exp_avg_sq, () => ++s.step); });
        return loss!;
    }

    public Moments MomentsOf(Ts.Parameter parameter) { var s = (State)_state[parameter.Handle]; return new(s.exp_avg, s.exp_avg_sq, s.max_exp_avg_sq); }
}

/// SGD with optional momentum, dampening, Nesterov and L2 weight decay, with per-parameter temporaries.
public sealed class SGD : Ts.SGD, IGradientFactor, IMomentState
{
    public SGD(IEnumerable<Ts.Parameter> parameters, double lr, double momentum, double dampening, double weightDecay, bool nesterov)
        : base(parameters, lr, momentum, dampening, weightDecay, nesterov) { }

    public double GradientFactor { get; set; } = 1;

    public override Tensor step(Func<Tensor>? closure = null)
    {
        var loss = StepRunner.Closure(closure);
        double factor = GradientFactor;
        GradientFactor = 1;
        StepRunner.ForEach(_parameter_groups, _state, factor, (group, p, grad, st) =>
        {
            var o = (Options)group.Options;
            var s = (State)st;
            double wd = o.weight_decay!.Value, momentum = o.momentum!.Value;
            if (wd != 0) grad = grad.add(p, alpha: wd);
            if (momentum != 0)
            {
                if (s.momentum_buffer is null) s.momentum_buffer = grad.clone().detach().DetachFromDisposeScope();
                else s.momentum_buffer.mul_(momentum).add_(grad, alpha: 1 - o.dampening!.Value);
                grad = o.nesterov!.Value ? grad.add(s.momentum_buffer, alpha: momentum) : s.momentum_buffer;
            }
            p.add_(grad, alpha: -o.LearningRate!.Value);
        }, g => ((Options)g.Options).maximize!.Value);
        return loss!;
    }

    public Moments MomentsOf(Ts.Parameter parameter) => new(((State)_state[parameter.Handle]).momentum_buffer, null, null);
}

static class AdamStep
{
    /// The fused kernel when available, else PyTorch's single-tensor update parameter by parameter.
    public static void Run(IEnumerable<Ts.ParamGroup> groups, TorchSharp.Utils.OrderedDict<IntPtr, Ts.OptimizerState> state,
        bool decoupled, bool fused, double gradFactor, Func<Ts.ParamGroup, AdamHyper> hyper, Func<Ts.OptimizerState, AdamSlots> slots)
    {
        if (fused && FusedAdamKernel.Available) { FusedAdamKernel.Step(groups, state, decoupled, hyper, slots, gradFactor); return; }
        StepRunner.ForEach(groups, state, gradFactor, (group, p, grad, st) =>
        {
            var h = hyper(group);
            var s = slots(st);
            long step = s.Advance();
            if (decoupled) p.mul_(1 - h.Lr * h.WeightDecay);
            else if (h.WeightDecay != 0) grad = grad.add(p, alpha: h.WeightDecay);
            AdamMath.Update(p, grad, s.ExpAvg, s.ExpAvgSq, s.MaxExpAvgSq, step, h.Lr, h.Beta1, h.Beta2, h.Eps, h.Amsgrad);
        }, g => hyper(g).Maximize);
    }
}

static class AdamMath
{
    /// Elements updated at a time: the denominator of a 32k-vocabulary embedding would otherwise be one more
    /// weight-sized temporary at the step's peak. The update is elementwise, so slicing it changes no result.
    const long SliceElements = 1L << 20;

    /// PyTorch's single-tensor Adam/AdamW moment update and parameter step (after weight decay is applied).
    public static void Update(Tensor p, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor? maxExpAvgSq, long step,
        double lr, double beta1, double beta2, double eps, bool amsgrad)
    {
        double bc1 = 1 - Math.Pow(beta1, step), bc2 = 1 - Math.Pow(beta2, step);
        long rows = p.dim() == 0 ? 1 : p.shape[0];
        long perRow = Math.Max(1, p.numel() / Math.Max(1, rows));
        long slice = p.dim() == 0 || !p.is_contiguous() ? rows : Math.Max(1, SliceElements / perRow);
        for (long r0 = 0; r0 < rows; r0 += slice)
        {
            using var scope = NewDisposeScope();
            long n = Math.Min(slice, rows - r0);
            Tensor Part(Tensor t) => p.dim() == 0 || n == rows ? t : t.narrow(0, r0, n);
            var (pp, g, m, v) = (Part(p), Part(grad), Part(expAvg), Part(expAvgSq));
            m.mul_(beta1).add_(g, alpha: 1 - beta1);
            v.mul_(beta2).addcmul_(g, g, value: 1 - beta2);
            Tensor second = v;
            if (amsgrad)
            {
                var mx = Part(maxExpAvgSq!);
                mx.copy_(maximum(mx, v));
                second = mx;
            }
            var denom = second.sqrt();
            denom.div_(Math.Sqrt(bc2)).add_(eps);
            pp.addcdiv_(m, denom, value: -(lr / bc1));
        }
    }
}

static class StepRunner
{
    public static Tensor? Closure(Func<Tensor>? closure)
    {
        if (closure is null) return null;
        using (enable_grad()) return closure();
    }

    /// Visits every parameter with a gradient (times `gradFactor`, negated when maximizing) under no-grad, each in its
    /// own dispose scope.
    public static void ForEach(IEnumerable<Ts.ParamGroup> groups, TorchSharp.Utils.OrderedDict<IntPtr, Ts.OptimizerState> state,
        double gradFactor, Action<Ts.ParamGroup, Ts.Parameter, Tensor, Ts.OptimizerState> update, Func<Ts.ParamGroup, bool> maximize)
    {
        using var _ = no_grad();
        foreach (var group in groups)
        {
            bool max = maximize(group);
            foreach (var p in group.Parameters)
            {
                using var scope = NewDisposeScope();
                var grad = p.grad;
                if (grad is null) continue;
                if (gradFactor != 1) grad = grad.mul(gradFactor);
                update(group, p, max ? grad.neg() : grad, state[p.Handle]);
            }
        }
    }
}
