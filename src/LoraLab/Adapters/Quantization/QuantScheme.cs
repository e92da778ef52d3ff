namespace LoraLab.Adapters.Quantization;

/// How a frozen base weight is stored (QLoRA): bitsandbytes' 4-bit NormalFloat or FP4 with double-quantized
/// block constants, or per-row absmax int8.
public enum QuantScheme { Nf4, Fp4, Int8 }

public static class QuantSchemes
{
    public static readonly string[] Names = { "nf4", "fp4", "int8" };

    public static QuantScheme Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "nf4" => QuantScheme.Nf4,
        "fp4" => QuantScheme.Fp4,
        "int8" => QuantScheme.Int8,
        _ => throw new UserException($"quantization '{name}': unknown scheme (use {string.Join(", ", Names)})"),
    };

    public static string Name(this QuantScheme scheme) => Names[(int)scheme];
}
