using LoraLab.Adapters.Quantization;
using LoraLab.Models;

namespace LoraLab.Adapters;

/// Parameter counts and frozen-weight memory from a config's shapes alone: no tensor is created, so it answers
/// "how big is LoRA r=8 on all layers of a 70B model" instantly and agrees with what injection produces.
public static class ParamCounter
{
    /// The same numbers <see cref="LoraInjector.Apply"/> reports for a real model of this architecture.
    public static LoraSummary Count(ModelConfig model, LoraConfig lora)
    {
        var sites = LoraSite.Plan(model, lora);
        return new LoraSummary(sites, ModelShapes.TotalParameters(model), sites.Sum(s => s.Parameters));
    }

    /// Frozen weights in bf16 versus with every decoder-block linear weight stored as `scheme` (nf4, fp4, int8),
    /// sized by the quantizers' own formula (<see cref="QuantizedSize.Bytes(long, long, string)"/>).
    public static FrozenWeightBytes FrozenBytes(ModelConfig model, string scheme)
    {
        long bf16 = 0, quantized = 0, kept = 0;
        foreach (var (name, shape) in ModelShapes.Expected(model))
        {
            long n = shape.Aggregate(1L, (a, b) => a * b);
            bf16 += 2 * n;
            if (name.StartsWith("model.layers.", StringComparison.Ordinal) && name.EndsWith("_proj.weight", StringComparison.Ordinal))
                quantized += QuantizedSize.Bytes(shape[0], shape[1], scheme);
            else
                kept += 2 * n;
        }
        return new FrozenWeightBytes(scheme.ToLowerInvariant(), bf16, quantized, kept);
    }
}
