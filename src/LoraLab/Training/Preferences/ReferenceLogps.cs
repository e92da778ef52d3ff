using LoraLab.Adapters;
using LoraLab.Data.Preferences;
using LoraLab.Models;
using static TorchSharp.torch;

namespace LoraLab.Training.Preferences;

/// The reference model's summed completion log-probabilities for every pair of a set, computed once (TRL's
/// precompute_ref_log_probs) and looked up by each batch's pair indices.
public sealed class ReferenceLogps
{
    readonly float[] _chosen, _rejected;

    ReferenceLogps(float[] chosen, float[] rejected) { _chosen = chosen; _rejected = rejected; }

    /// One pass over `pairs` (in order, no gradients, eval mode) with the model as it is now: its adapters switched off
    /// when `adaptersOff` (the base as reference), or on (a supervised adapter as reference).
    public static ReferenceLogps Compute(CausalLM model, PreferenceLoader pairs, bool adaptersOff)
    {
        var chosen = new float[pairs.PairCount];
        var rejected = new float[pairs.PairCount];
        using (EvalMode.On(model))
        {
            using var _ = no_grad();
            using var off = adaptersOff ? AdaptersOff.On(model) : null;
            foreach (var batch in pairs.Epoch(0))
            {
                using var b = batch.MoveTo(model.Device);
                using var scope = NewDisposeScope();
                var (sums, _) = CompletionLogps.Of(model, b.InputIds, b.Labels);
                var values = sums.cpu().data<float>().ToArray();
                for (int i = 0; i < b.Pairs; i++)
                {
                    chosen[b.PairIndices[i]] = values[i];
                    rejected[b.PairIndices[i]] = values[b.Pairs + i];
                }
            }
        }
        return new ReferenceLogps(chosen, rejected);
    }

    /// The batch's reference sums, chosen and rejected, on `device`.
    public (Tensor Chosen, Tensor Rejected) For(PreferenceBatch b, Device device) =>
        (tensor(b.PairIndices.Select(i => _chosen[i]).ToArray(), device: device),
         tensor(b.PairIndices.Select(i => _rejected[i]).ToArray(), device: device));
}
