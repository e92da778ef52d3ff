namespace LoraLab.Benchmarks;

/// What one `loralab bench` run measured. Times are per optimizer step; memory is the process's resident set.
public sealed record BenchResult
{
    public required string Config { get; init; }
    public required string Mode { get; init; }
    public required int Batch { get; init; }
    public required int Seq { get; init; }
    public required int Steps { get; init; }
    public required int Threads { get; init; }
    /// Single-threaded slices per micro-batch (1 = off).
    public int Streams { get; init; } = 1;
    public double PromptFraction { get; init; }
    public required string Device { get; init; }
    /// The dtype the step computed in (`auto` resolved) and why it was chosen.
    public required string Precision { get; init; }
    public required string PrecisionReason { get; init; }
    public required bool GradCheckpointing { get; init; }
    public required long Parameters { get; init; }
    public required long Trainable { get; init; }
    /// Bytes of the frozen projection weights as stored (packed when quantized).
    public required long FrozenWeightBytes { get; init; }
    /// The same weights at 2 bytes each (bf16), for the QLoRA storage ratio.
    public required long FrozenWeightBf16Bytes { get; init; }
    public required double MedianStepSeconds { get; init; }
    public required double MinStepSeconds { get; init; }
    public required double TokensPerSecond { get; init; }
    /// FLOPs of one step (see StepFlops) and the rate they were done at.
    public required double StepFlops { get; init; }
    public required double AchievedGFlops { get; init; }
    /// The matrix-product rate, in the step's precision, measured in this process before and after the timed steps
    /// (the higher one); MFU is against it, so a bf16 step is not measured against the fp32 rate.
    public required double PeakGFlops { get; init; }
    public required double PeakFp32GFlops { get; init; }
    public required double PeakBf16GFlops { get; init; }
    public double Mfu => AchievedGFlops / PeakGFlops;
    /// VmHWM after the timed steps (includes model set-up, as the peer's ru_maxrss does).
    public required long PeakRssBytes { get; init; }
    /// VmRSS once the model and optimizer were built, before the first step.
    public required long SetupRssBytes { get; init; }
    /// The optimizer's state tensors once built (moments; GaLore's projected moments and projections), counted from the tensors.
    public required long OptimizerStateBytes { get; init; }
    public required double FinalLoss { get; init; }
    public required IReadOnlyList<double> StepSeconds { get; init; }
    /// With BenchOptions.Profile: each category's self time per step, largest first (null otherwise).
    public IReadOnlyList<Diagnostics.Profiling.ProfileRow>? Profile { get; init; }
    /// Wall time of each profiled step (marks included), for the profile's own overhead.
    public IReadOnlyList<double>? ProfiledStepSeconds { get; init; }
    /// (optimizer step, VmHWM bytes) at the steps asked for with MemoryAt.
    public required IReadOnlyList<(int Step, long PeakRssBytes)> MemoryTrace { get; init; }
}
