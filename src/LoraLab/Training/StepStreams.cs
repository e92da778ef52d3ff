using LoraLab.Runtime;
using System.Collections.Concurrent;
using TorchSharp;

namespace LoraLab.Training;

/// Threads that each run one slice of a micro-batch (forward and backward) with one intra-op thread, instead of every
/// operation being split over all cores. A two-threaded step leaves one core idle while the other runs the serial
/// parts (small element-wise operations below libtorch's grain size, autograd bookkeeping, managed code); two
/// single-threaded slices keep both busy (BENCHMARKS.md, "2026-11-29 from 14:59", "Two single-threaded streams instead
/// of one two-threaded one"). StreamSlices splits a micro-batch over them. Slice 0 runs on the calling thread; the others on threads kept for the life of this object, so their kept buffers
/// (the head's logits) are reused from step to step.
public sealed class StepStreams : IDisposable
{
    readonly List<BlockingCollection<Action>> _queues = new();
    readonly List<Thread> _threads = new();

    public int Count { get; }

    public StepStreams(int count)
    {
        if (count < 2) throw new ArgumentOutOfRangeException(nameof(count), "streams need at least two threads");
        Count = count;
        for (int i = 1; i < count; i++)
        {
            var queue = new BlockingCollection<Action>();
            var thread = new Thread(() =>
            {
                torch.set_num_threads(1);
                try { foreach (var work in queue.GetConsumingEnumerable()) work(); }
                finally { KeptBuffers.Release(); }
            }) { IsBackground = true, Name = $"loralab-stream-{i}" };
            thread.Start();
            _queues.Add(queue);
            _threads.Add(thread);
        }
    }

    /// Runs parts[i] on stream i (at most Count parts), the caller's with one intra-op thread, and returns when all
    /// have finished; rethrows the first failure.
    public void Run(IReadOnlyList<Action> parts)
    {
        if (parts.Count > Count) throw new ArgumentException($"{parts.Count} parts for {Count} streams");
        var errors = new Exception?[parts.Count];
        using var done = new CountdownEvent(parts.Count - 1);
        int callerThreads = torch.get_num_threads();
        // Set before the other slices start: MKL's thread setting may be process-wide in some builds.
        torch.set_num_threads(1);
        try
        {
            for (int i = 1; i < parts.Count; i++)
            {
                int k = i;
                _queues[k - 1].Add(() =>
                {
                    try { parts[k](); }
                    catch (Exception e) { errors[k] = e; }
                    finally { done.Signal(); }
                });
            }
            try { parts[0](); }
            catch (Exception e) { errors[0] = e; }
            done.Wait();
        }
        finally { torch.set_num_threads(callerThreads); }
        var first = errors.FirstOrDefault(e => e is not null);
        if (first is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
    }

    public void Dispose()
    {
        foreach (var q in _queues) q.CompleteAdding();
        foreach (var t in _threads) t.Join();
        foreach (var q in _queues) q.Dispose();
    }
}
