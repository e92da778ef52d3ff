using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Diagnostics.Profiling;

/// The hook points of `bench --profile`, one line at each call site (Projection, Attention, RmsNorm, Mlp, DecoderLayer,
/// CausalLM, Losses, TrainingStep). Off (no recorder on this thread), every hook is one thread-static null check and
/// returns its argument unchanged.
///
/// On, `In(op, x)` marks where a region starts and `Out(op, y)` where it ends. In forward the marks record timestamps
/// (the CPU runs each operation synchronously). For backward each mark on a tensor that needs a gradient is an identity
/// autograd function (<see cref="Mark"/>) whose backward records a timestamp and hands the gradient on unchanged:
/// TorchSharp 0.107 has no autograd profiler and no tensor hooks, and CPU backward runs the graph on the calling thread,
/// so the region's backward runs between its Out mark's event and its In mark's event. StepRecorder turns the events into
/// times by region boundaries.
///
/// A mark must carry one use of a tensor, or all of them: autograd sums a tensor's incoming gradients in the order they
/// arrive, and a mark on two of three uses would add those two first, changing the float sum's bits (see RmsNorm).
public static class OpProfile
{
    [ThreadStatic] static StepRecorder? _recorder;
    [ThreadStatic] static StepPhase _phase;

    /// Records the marks made on this thread into `recorder` until disposed.
    public static Scope Record(StepRecorder recorder)
    {
        if (_recorder is not null) throw new InvalidOperationException("a profile is already being recorded on this thread");
        _recorder = recorder;
        _phase = StepPhase.Forward;
        return Scope.Recording();
    }

    /// The start of region `op` on `x`; `within` is the region it sits inside (e.g. the adapter for its casts).
    public static Tensor In(ProfiledOp op, Tensor x, ProfiledOp within = ProfiledOp.Other)
    {
        if (_recorder is not { } r) return x;
        // The event after the mark is made and the Out event before it: the marks' own cost falls outside the region.
        var marked = x.requires_grad && is_grad_enabled() ? Mark.apply(x, new MarkInfo(r, op, OpensInBackward: false, within)) : x;
        r.Add(op, opens: true, _phase, within);
        return marked;
    }

    /// The end of region `op`, whose result is `y`.
    public static Tensor Out(ProfiledOp op, Tensor y, ProfiledOp within = ProfiledOp.Other)
    {
        if (_recorder is not { } r) return y;
        r.Add(op, opens: false, _phase, within);
        return y.requires_grad && is_grad_enabled() ? Mark.apply(y, new MarkInfo(r, op, OpensInBackward: true, within)) : y;
    }

    /// `x.to(dtype)` as a cast region inside `within`.
    public static Tensor Cast(Tensor x, ScalarType dtype, ProfiledOp within)
    {
        if (_recorder is null) return x.to(dtype);
        return Out(ProfiledOp.Cast, In(ProfiledOp.Cast, x, within).to(dtype), within);
    }

    /// A region of host code outside autograd (optimizer, housekeeping): `using (OpProfile.Time(op)) ...`.
    public static Scope Time(ProfiledOp op)
    {
        if (_recorder is not { } r) return default;
        r.Add(op, opens: true, StepPhase.Step, ProfiledOp.Other);
        return Scope.Region(op);
    }

    /// The backward pass: forward marks made inside it (gradient checkpointing's recomputation) count as backward.
    public static Scope Backward()
    {
        if (_recorder is null) return default;
        _phase = StepPhase.Backward;
        return Scope.BackwardPass();
    }

    /// Ends what started it; a default Scope (profiling off) does nothing.
    public readonly struct Scope : IDisposable
    {
        enum Kind { None, Recording, Region, Backward }
        readonly Kind _kind;
        readonly ProfiledOp _op;

        Scope(Kind kind, ProfiledOp op) { _kind = kind; _op = op; }
        internal static Scope Recording() => new(Kind.Recording, ProfiledOp.Other);
        internal static Scope Region(ProfiledOp op) => new(Kind.Region, op);
        internal static Scope BackwardPass() => new(Kind.Backward, ProfiledOp.Other);

        public void Dispose()
        {
            if (_kind == Kind.None || _recorder is not { } r) return;
            switch (_kind)
            {
                case Kind.Recording: _recorder = null; break;
                case Kind.Backward: _phase = StepPhase.Forward; break;
                default: r.Add(_op, opens: false, StepPhase.Step, ProfiledOp.Other); break;
            }
        }
    }

    sealed record MarkInfo(StepRecorder Recorder, ProfiledOp Op, bool OpensInBackward, ProfiledOp Within);

    /// Identity: forward returns the input's data (a detached alias, not a copy), backward records the mark's event
    /// and returns the incoming gradient itself, so losses and gradients are bit for bit those of an unmarked graph.
    sealed class Mark : autograd.SingleTensorFunction<Mark>
    {
        public override string Name => "ProfileMark";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            ctx.save_data("mark", vars[1]);
            return ((Tensor)vars[0]).detach();
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var m = (MarkInfo)ctx.get_data("mark");
            m.Recorder.Add(m.Op, m.OpensInBackward, StepPhase.Backward, m.Within);
            m.Recorder.Release(gradOutput);
            return new List<Tensor> { gradOutput, null! };
        }
    }
}
