using LoraLab.Models;
using static TorchSharp.torch;

namespace LoraLab.Adapters;

/// Whether an attached adapter changes the model's output at all. An adapter whose B matrices are all zero (never
/// trained, or saved before the first step), or one that did not end up in the forward pass, leaves the logits
/// bit-identical to the base's: evaluating or serving it silently measures the base model instead.
public static class AdapterEffect
{
    /// Max |logits(base + adapter) − logits(base)| on a fixed probe of `length` token ids spread over the vocabulary.
    public static double MaxLogitChange(CausalLM model, int length = 16)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        int vocab = model.Config.VocabSize;
        var ids = tensor(Enumerable.Range(1, length).Select(i => (long)(i * 7919L % vocab)).ToArray(), dtype: ScalarType.Int64, device: model.Device).unsqueeze(0);
        var tuned = model.Forward(ids).to(ScalarType.Float32);
        Tensor baseLogits;
        using (AdaptersOff.On(model)) baseLogits = model.Forward(ids).to(ScalarType.Float32);
        return tuned.sub(baseLogits).abs().max().item<float>();
    }
}
