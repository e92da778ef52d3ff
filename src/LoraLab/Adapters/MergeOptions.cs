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
    /// How the base was stored while the adapter was trained ("nf4", "fp4", "int8"; "none" = dense). null = what the
    /// adapter's loralab_adapter.json records (dense when it has none). A quantized base is dequantized and the adapter
    /// merged into that, since base(quantized) + adapter is the model that was trained.
    public string? BaseQuantization { get; init; }
    /// Also measure the merged model re-quantized with this scheme (as when it is loaded 4-bit again) against base + adapter.
    public string? Requantize { get; init; }
    /// Probe sequences compared between base+adapter and the written merged model.
    public int Probes { get; init; } = 4;
    public int ProbeLength { get; init; } = 32;
    public long ProbeSeed { get; init; } = 1234;
}
