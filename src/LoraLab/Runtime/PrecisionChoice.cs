using static TorchSharp.torch;

namespace LoraLab.Runtime;

/// The dtype a run computes in (its frozen base stored and multiplied in it; trainable weights stay float32), and
/// why: what `doctor`, `bench` and run.yaml report.
public sealed record PrecisionChoice(ScalarType Dtype, string Reason)
{
    /// The spelling `--precision` takes for this dtype.
    public string Name => Dtype switch
    {
        ScalarType.BFloat16 => "bf16",
        ScalarType.Float16 => "fp16",
        _ => "fp32",
    };

    public override string ToString() => $"{Name} ({Reason})";
}
