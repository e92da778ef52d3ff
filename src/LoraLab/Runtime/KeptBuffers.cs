using static TorchSharp.torch;

namespace LoraLab.Runtime;

/// Large scratch tensors that every training step needs again at the same size, kept between steps on the thread that
/// trains: the head's logits buffer and the gradient buffers of vocabulary-sized tables (embedding, head). Allocated
/// afresh, each was a new 64 MB mapping that every step faulted in again; kept, a step faults far fewer pages and runs
/// faster at the same peak. The logits buffer also lives through backward: a few per cent more peak for a faster
/// step (BENCHMARKS.md, "What made the step fast and lean"), except where the head trains (ChunkedHeadLoss).
/// `using var _ = KeptBuffers.Scope();` around a run frees them when it ends.
public static class KeptBuffers
{
    /// By dtype: a bf16 head keeps a float32 companion for its softmax (cast into it, not into a fresh 64 MB tensor).
    [ThreadStatic] static Dictionary<ScalarType, Tensor>? _logits;
    [ThreadStatic] static List<(Tensor Owner, Tensor Buffer)>? _gradients;

    /// A (rows, vocab) buffer of `dtype` of at least that many rows; its contents are undefined.
    public static Tensor Logits(long rows, long vocab, ScalarType dtype, Device device)
    {
        var kept = _logits ??= new();
        if (kept.TryGetValue(dtype, out var b) && b.shape[0] >= rows && b.shape[1] == vocab && Matches(b, dtype, device))
            return b.narrow(0, 0, rows);
        b?.Dispose();
        var fresh = empty(rows, vocab, dtype: dtype, device: device).DetachFromDisposeScope();
        kept[dtype] = fresh;
        return fresh.alias();
    }

    /// A zeroed tensor shaped like `weight` to become its gradient, reusing this thread's buffer for `weight` when the
    /// weight has no gradient now (so the buffer is not in use). While a gradient is being accumulated (several
    /// micro-batches, or a table used twice) a fresh tensor is returned instead.
    public static Tensor ZeroGradient(Tensor weight)
    {
        if (weight.grad is not null) return zeros_like(weight);
        var list = _gradients ??= new();
        list.RemoveAll(e => { if (!e.Owner.IsInvalid) return false; e.Buffer.Dispose(); return true; });
        int i = list.FindIndex(e => ReferenceEquals(e.Owner, weight));
        if (i >= 0 && SameShape(list[i].Buffer, weight)) return list[i].Buffer.zero_().alias();
        if (i >= 0) { list[i].Buffer.Dispose(); list.RemoveAt(i); }
        var buffer = zeros_like(weight).DetachFromDisposeScope();
        list.Add((weight, buffer));
        return buffer.alias();
    }

    /// Frees this thread's logits buffers (the next Logits call maps a fresh one).
    public static void ReleaseLogits()
    {
        foreach (var b in _logits?.Values ?? Enumerable.Empty<Tensor>()) b.Dispose();
        _logits = null;
    }

    /// Frees this thread's kept buffers.
    public static void Release()
    {
        ReleaseLogits();
        if (_gradients is null) return;
        foreach (var (_, buffer) in _gradients) buffer.Dispose();
        _gradients = null;
    }

    /// Frees this thread's kept buffers when disposed.
    public static IDisposable Scope() => new Releaser();

    sealed class Releaser : IDisposable
    {
        public void Dispose() => Release();
    }

    static bool Matches(Tensor t, ScalarType dtype, Device device) =>
        t.dtype == dtype && t.device_type == device.type && t.device_index == device.index;

    static bool SameShape(Tensor b, Tensor w) => b.shape.SequenceEqual(w.shape) && Matches(b, w.dtype, w.device);
}
