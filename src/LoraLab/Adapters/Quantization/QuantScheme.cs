namespace LoraLab.Adapters.Quantization;

/// How a frozen base weight is stored (QLoRA): bitsandbytes' 4-bit NormalFloat or FP4 with double-quantized
/// block constants, or per-row absmax int8.
public enum QuantScheme { Nf4, Fp4, Int8 }

public static class QuantSchemes
{
    /// The spellings are RunChoices.Quantize's (the run setting's), declared there once.
    public static readonly string[] Names = [.. Configuration.RunChoices.Quantize.Items.Select(i => i.Name)];

    public static QuantScheme Parse(string name) => Configuration.RunChoices.Quantize.TryParse(name, out var scheme) ? scheme
        : throw new UserException($"quantization '{name}': unknown scheme (use {string.Join(", ", Names)})");

    public static string Name(this QuantScheme scheme) => Configuration.RunChoices.Quantize.NameOf(scheme);
}
