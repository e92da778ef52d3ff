using System.Diagnostics;
using Torch = TorchSharp.torch;

namespace LoraLab.Diagnostics.Profiling;

/// One row of a profile: a category's self time per step in one phase, and its share of the step.
public sealed record ProfileRow(ProfiledOp Op, StepPhase Phase, double MsPerStep, double Share)
{
    public string Label => Op.Label();
}

/// Collects the marks (OpProfile) of the steps it is told about and sums each region's self time.
///
/// Attribution, by region boundaries: the events of one step in time order, bounded by the step's start and end, cut
/// it into intervals, and each interval [a, b] goes to
///   1. the region b closes (a forward Out mark, a backward In mark, the end of a timed region): that region ran last;
///   2. else the region a opens: it ran, and no mark closed it (in backward, a region whose input needs no gradient,
///      such as layer 0's projections reading the frozen embeddings, has no In event);
///   3. else the region a nested region sits in (a cast inside an adapter), when a closes one or b opens one;
///   4. else "other", in b's phase: views, reshapes, copies between regions, the autograd engine's own work.
/// Branches whose backward interleaves (q, k and v read the same input) are attributed interval by interval by the same
/// rule, so each interval counts once and the rows sum to the step's time exactly.
public sealed class StepRecorder
{
    internal readonly record struct Event(long Ticks, ProfiledOp Op, bool Opens, StepPhase Phase, ProfiledOp Within);

    readonly List<Event> _events = new();
    readonly Dictionary<(ProfiledOp, StepPhase), long> _ticks = new();
    readonly List<double> _stepSeconds = new();
    readonly object _lock = new();
    long _start = -1;

    internal void Add(ProfiledOp op, bool opens, StepPhase phase, ProfiledOp within)
    {
        long now = Stopwatch.GetTimestamp();
        lock (_lock) _events.Add(new Event(now, op, opens, phase, within));
    }

    Torch.Tensor? _released;

    /// A gradient a mark hands on: TorchSharp wraps it in a handle of the caller's dispose scope, which would keep every
    /// marked gradient alive to the end of the step. Autograd takes its own reference once the mark's backward returns,
    /// so the handle is disposed at the next mark's (or the step's end).
    internal void Release(Torch.Tensor grad)
    {
        lock (_lock)
        {
            _released?.Dispose();
            _released = grad.DetachFromDisposeScope();
        }
    }

    public void BeginStep()
    {
        lock (_lock) _events.Clear();
        _start = Stopwatch.GetTimestamp();
    }

    public void EndStep()
    {
        long end = Stopwatch.GetTimestamp();
        if (_start < 0) throw new InvalidOperationException("EndStep without BeginStep");
        lock (_lock)
            foreach (var (op, phase, ticks) in Attribute(_start, end, _events))
                _ticks[(op, phase)] = _ticks.GetValueOrDefault((op, phase)) + ticks;
        lock (_lock) { _released?.Dispose(); _released = null; }
        _stepSeconds.Add((double)(end - _start) / Stopwatch.Frequency);
        _start = -1;
    }

    /// Wall time of each recorded step, marks included.
    public IReadOnlyList<double> StepSeconds => _stepSeconds;

    /// Every category with time, largest first; the shares sum to 1.
    public IReadOnlyList<ProfileRow> Rows()
    {
        double total = _ticks.Values.Sum();
        int steps = Math.Max(1, _stepSeconds.Count);
        return _ticks.Where(kv => kv.Value > 0)
            .Select(kv => new ProfileRow(kv.Key.Item1, kv.Key.Item2, kv.Value * 1000.0 / Stopwatch.Frequency / steps, kv.Value / total))
            .OrderByDescending(r => r.MsPerStep).ToList();
    }

    /// The rule in the class comment, over one step's events between `start` and `end`.
    internal static IEnumerable<(ProfiledOp Op, StepPhase Phase, long Ticks)> Attribute(long start, long end, IReadOnlyList<Event> events)
    {
        Event? a = null;
        long from = start;
        for (int i = 0; i <= events.Count; i++)
        {
            Event? b = i < events.Count ? events[i] : null;
            long to = b?.Ticks ?? end;
            var (op, phase) = Owner(a, b);
            if (to > from) yield return (op, phase, to - from);
            a = b;
            from = to;
        }
    }

    static (ProfiledOp, StepPhase) Owner(Event? a, Event? b)
    {
        if (b is { Opens: false } close) return (close.Op, close.Phase);
        if (a is { Opens: true } open) return (open.Op, open.Phase);
        if (a is { Opens: false, Within: not ProfiledOp.Other } inner) return (inner.Within, inner.Phase);
        if (b is { Opens: true, Within: not ProfiledOp.Other } next) return (next.Within, next.Phase);
        return (ProfiledOp.Other, b?.Phase ?? StepPhase.Step);
    }
}
