using LoraLab.Models;
using static TorchSharp.torch;

namespace LoraLab.Evaluation.Tasks;

/// Summed log-probability of each request's continuation given its context. Requests are scored in batches padded on
/// the right: with causal attention a real position never sees the padding after it, and only the continuation's
/// positions are read (the mask), so a batch gives each request the numbers it gets alone.
public static class LoglikelihoodScorer
{
    public const int DefaultBatchSize = 8;

    public static double[] Score(CausalLM model, IReadOnlyList<LoglikelihoodRequest> requests, int batchSize = DefaultBatchSize)
    {
        if (batchSize < 1) throw new UserException($"--batch-size must be at least 1 (got {batchSize})");
        int maxLen = model.Config.MaxPositionEmbeddings;
        var inputs = new (long[] Ids, int Scored, int[] Targets)[requests.Count];
        for (int i = 0; i < requests.Count; i++)
        {
            var r = requests[i];
            if (r.Continuation.Length == 0) throw new UserException($"request {i + 1}: the continuation has no tokens (an empty choice or answer)");
            if (r.Continuation.Length > maxLen)
                throw new UserException($"request {i + 1}: the continuation has {r.Continuation.Length} tokens, more than the model's context ({maxLen})");
            // as the harness: keep the last maxLen + 1 tokens (the context is cut on the left), feed all but the last
            var all = r.Context.Concat(r.Continuation).TakeLast(maxLen + 1).ToArray();
            inputs[i] = (all[..^1].Select(x => (long)x).ToArray(), r.Continuation.Length, r.Continuation);
        }
        var result = new double[requests.Count];
        // longest first, so a batch pads little
        var order = Enumerable.Range(0, requests.Count).OrderByDescending(i => inputs[i].Ids.Length).ToArray();
        using (EvalMode.On(model))
        {
            using var _ = no_grad();
            for (int start = 0; start < order.Length; start += batchSize)
            {
                var batch = order.Skip(start).Take(batchSize).ToArray();
                using var scope = NewDisposeScope();
                int t = batch.Max(i => inputs[i].Ids.Length);
                var ids = new long[batch.Length * t];
                var targets = new long[batch.Length * t];
                var mask = new float[batch.Length * t];
                for (int b = 0; b < batch.Length; b++)
                {
                    var (x, scored, cont) = inputs[batch[b]];
                    Array.Copy(x, 0, ids, b * t, x.Length);
                    // position p predicts token p + 1: the continuation's tokens come from the last `scored` positions
                    for (int k = 0; k < scored; k++)
                    {
                        int p = b * t + x.Length - scored + k;
                        targets[p] = cont[k];
                        mask[p] = 1;
                    }
                }
                var input = tensor(ids, dtype: ScalarType.Int64, device: model.Device).view(batch.Length, t);
                var logp = model.Forward(input).to(ScalarType.Float32).log_softmax(-1);
                var tgt = tensor(targets, dtype: ScalarType.Int64, device: model.Device).view(batch.Length, t, 1);
                var picked = logp.gather(-1, tgt).squeeze(-1).to(ScalarType.Float64).cpu();
                var sums = picked.mul(tensor(mask).view(batch.Length, t).to(ScalarType.Float64)).sum(1).data<double>().ToArray();
                for (int b = 0; b < batch.Length; b++) result[batch[b]] = sums[b];
            }
        }
        return result;
    }
}
