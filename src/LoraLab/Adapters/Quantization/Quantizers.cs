using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Adapters.Quantization;

/// Builds packed base weights and the `LoadOptions.QuantizerFor` hook, so `ModelLoader` quantizes each
/// projection as its tensor is read and never holds the dense copy of all weights.
public static class Quantizers
{
    /// A packed copy of the dense (out, in) weight `w`; the module is what the projection registers as `quant`.
    public static (IBaseWeight Weight, nn.Module Holder) Quantize(Tensor w, QuantScheme scheme)
    {
        nn.Module m = scheme == QuantScheme.Int8 ? Int8Weight.Quantize(w) : FourBitWeight.Quantize(w, scheme);
        return ((IBaseWeight)m, m);
    }

    /// The `LoadOptions.QuantizerFor` delegate for a scheme name ("nf4", "fp4", "int8"). The decoder layers'
    /// projections are quantized; `lm_head` stays dense unless `includeLmHead` (as transformers/bitsandbytes
    /// keep the output layer in full precision by default).
    public static Func<string, Projection, Func<Tensor, (IBaseWeight, nn.Module)>?> For(string scheme, bool includeLmHead = false) =>
        For(QuantSchemes.Parse(scheme), includeLmHead);

    public static Func<string, Projection, Func<Tensor, (IBaseWeight, nn.Module)>?> For(QuantScheme scheme, bool includeLmHead = false) =>
        (path, _) => path == "lm_head" && !includeLmHead ? null : w => Quantize(w, scheme);

    /// Sets the same quantizers on a model built without ModelLoader (e.g. before `InitializeRandom` for a
    /// benchmark); weights loaded afterwards are stored packed.
    public static void Attach(CausalLM model, QuantScheme scheme, bool includeLmHead = false)
    {
        var quantizerFor = For(scheme, includeLmHead);
        foreach (var (path, _, _, proj) in model.Projections())
        {
            if (proj.Weight is not null || proj.Quantized is not null)
                throw new InvalidOperationException($"{path}: weights already loaded; attach quantizers before loading");
            proj.Quantizer = quantizerFor(path, proj);
        }
    }
}
