using static TorchSharp.torch;

namespace LoraLab.Adapters;

/// Inputs of <see cref="AdapterMerger.MergeToFolder"/>.
public sealed record MergeOptions
{
    public required string BaseDir { get; init; }
    public required string AdapterDir { get; init; }
    public required string OutDir { get; init; }
    /// Dtype of the written weights; null = the base config's torch_dtype (float32 when absent).
    public ScalarType? OutDtype { get; init; }
    /// Replace a non-empty OutDir.
    public bool Overwrite { get; init; }
    public Device Device { get; init; } = CPU;
    /// Probe sequences compared between base+adapter and the written merged model.
    public int Probes { get; init; } = 4;
    public int ProbeLength { get; init; } = 32;
    public long ProbeSeed { get; init; } = 1234;
}
