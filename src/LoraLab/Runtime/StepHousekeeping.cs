namespace LoraLab.Runtime;

/// The CPU-performance housekeeping around training, in one place: what the process sets around loading libtorch
/// (TorchRuntime calls the two static hooks), and what a training step does between its phases (TrainingStep calls
/// the instance hooks). None of it changes a number the step computes, only its time and memory; why each part
/// is there, with the measurements, is in BENCHMARKS.md, "What made the step fast and lean".
public class StepHousekeeping
{
    /// What every training step uses unless a test passes its own.
    public static StepHousekeeping Default { get; } = new();

    /// Before libtorch loads: a short OpenMP spin (libgomp reads it once, at load) and glibc's mmap threshold.
    internal static void BeforeTorchLoads()
    {
        OpenMpSettings.Apply();
        NativeHeap.Configure();
    }

    /// After libtorch loads and before its first matrix product: MKL's AVX2 kernels on AMD CPUs (MklCpuDispatch).
    internal static void AfterTorchLoads() => MklCpuDispatch.Apply();

    /// Between the forward passes of a micro-batch (all of its slices, with streams) and their backward: hands the
    /// pages that forward's freed temporaries left mapped back to the OS when the heap has grown, so backward, which
    /// allocates the gradients, peaks near the live tensors (NativeHeap.TrimIfGrown says when).
    public virtual void BeforeBackward() => NativeHeap.TrimIfGrown();

    /// After the optimizer step and the gradients dropped: collects the step's ~0.25 MB of managed garbage (tensor
    /// wrappers, handle arrays) so it reuses the same pages instead of walking through the GC's gen-0 budget, over
    /// which the peak crept up in jumps (BENCHMARKS.md, "No leak: peak resident memory over 500 steps").
    public virtual void AfterStep() => GC.Collect(0);
}
