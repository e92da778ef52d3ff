using LoraLab.Adapters;
using LoraLab.Models;

namespace LoraLab.Benchmarks;

/// Floating-point operations of one training step, counted from the shapes (a multiply-add is 2 FLOPs):
///
/// - every projection: forward 2·in·out per token; the input gradient 2·in·out again where autograd needs it (its input
///   depends on something trainable); the weight gradient 2·in·out when the weight itself is trained (full fine-tuning).
///   So ≈ 4 × linear parameters per token for LoRA and 6 × for full fine-tuning, as usually quoted; the exact rule here
///   leaves out the input gradients nobody needs (layer 0's q/k/v under LoRA, whose input is frozen embeddings).
/// - LoRA's A and B: the same rule on (in, r) and (r, out), with their weight gradients always.
/// - causal attention: QKᵀ and PV over the lower triangle only (T²/2 scores per head: what is needed), forward 2 × 2·T²/2·d
///   per head, backward twice that when it runs.
/// - the output layer on the rows with a target: T−1 per sequence (the last position predicts nothing), fewer when
///   labels mask a prompt (`headRows`).
/// Norms, rotary, activations and the softmax are not counted (a few percent, and not matrix work).
public static class StepFlops
{
    public sealed record Counts(double Projections, double Adapters, double Attention, double Head)
    {
        public double Total => Projections + Adapters + Attention + Head;
    }

    /// `sites` are the LoRA adapters (null or empty for full fine-tuning with `full` true).
    public static Counts Compute(ModelConfig c, bool full, IReadOnlyList<LoraSite>? sites, long batch, long seq, long? headRows = null)
    {
        var adapted = (sites ?? Array.Empty<LoraSite>()).ToDictionary(s => s.Path);
        double tokens = batch * seq;
        double proj = 0, lora = 0, attn = 0;
        bool xNeedsGrad = full; // the embeddings' output requires a gradient only when the embeddings train
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string p = $"model.layers.{i}.";
            bool attnIn = xNeedsGrad;
            bool attnTrains = full || new[] { "q_proj", "k_proj", "v_proj", "o_proj" }.Any(m => adapted.ContainsKey(p + "self_attn." + m));
            foreach (var m in new[] { "q_proj", "k_proj", "v_proj" })
                Add(p + "self_attn." + m, m, attnIn);
            bool scoresNeedGrad = attnIn || full || new[] { "q_proj", "k_proj", "v_proj" }.Any(m => adapted.ContainsKey(p + "self_attn." + m));
            // causal: T(T+1)/2 scores per head and sequence; QKᵀ and PV each 2·d FLOPs per score
            double scores = batch * (seq * (seq + 1) / 2.0) * c.NumAttentionHeads;
            attn += scores * 4 * c.HeadDim * (scoresNeedGrad ? 3 : 1);
            Add(p + "self_attn.o_proj", "o_proj", scoresNeedGrad);
            bool h = attnIn || attnTrains;
            bool mlpTrains = full || new[] { "gate_proj", "up_proj", "down_proj" }.Any(m => adapted.ContainsKey(p + "mlp." + m));
            Add(p + "mlp.gate_proj", "gate_proj", h);
            Add(p + "mlp.up_proj", "up_proj", h);
            Add(p + "mlp.down_proj", "down_proj", h || adapted.ContainsKey(p + "mlp.gate_proj") || adapted.ContainsKey(p + "mlp.up_proj") || full);
            xNeedsGrad = h || mlpTrains;
        }
        var (hin, hout) = ModelShapes.ProjectionDims(c, "lm_head");
        double rows = headRows ?? batch * (seq - 1);
        double head = 2.0 * hin * hout * rows * (1 + (xNeedsGrad ? 1 : 0) + (full ? 1 : 0));
        if (adapted.TryGetValue("lm_head", out var hs)) lora += rows * AdapterFlops(hs, xNeedsGrad);
        return new Counts(proj, lora, attn, head);

        void Add(string path, string module, bool inputNeedsGrad)
        {
            var (inF, outF) = ModelShapes.ProjectionDims(c, module);
            proj += tokens * 2.0 * inF * outF * (1 + (inputNeedsGrad ? 1 : 0) + (full ? 1 : 0));
            if (adapted.TryGetValue(path, out var s)) lora += tokens * AdapterFlops(s, inputNeedsGrad);
        }
    }

    /// Per token: forward through A and B, the gradient of B's input (always: A trains) and of A's input when needed,
    /// and both weight gradients.
    static double AdapterFlops(LoraSite s, bool inputNeedsGrad)
    {
        double a = 2.0 * s.InFeatures * s.R, b = 2.0 * s.R * s.OutFeatures;
        return (a + b) + b + (inputNeedsGrad ? a : 0) + (a + b);
    }
}
