using LoraLab.Adapters;
using LoraLab.Data.Preferences;
using LoraLab.Models;
using static TorchSharp.torch;

namespace LoraLab.Training.Preferences;

/// One micro-batch through a preference objective: the policy's completion log-probs (chosen and rejected rows in one
/// forward pass), the reference's (precomputed, or the same batch with the adapters switched off and no gradients),
/// and the loss terms. Shared by training steps, validation and `eval --task dpo`.
public static class PreferencePass
{
    /// `reference`: precomputed log-probs, or null to run the model with its adapters off (DPO) — ORPO needs none.
    public static (PreferenceLossTerms Terms, Tensor PolicyChosen, Tensor PolicyRejected, Tensor CountChosen) Run(
        CausalLM model, PreferenceSettings s, PreferenceBatch b, ReferenceLogps? reference)
    {
        using var scope = NewDisposeScope();
        int n = b.Pairs;
        var (sums, counts) = CompletionLogps.Of(model, b.InputIds, b.Labels);
        Tensor? refChosen = null, refRejected = null;
        if (s.UsesReference)
        {
            if (reference is not null) (refChosen, refRejected) = reference.For(b, model.Device);
            else
                using (no_grad())
                using (AdaptersOff.On(model))
                {
                    var (refSums, _) = CompletionLogps.Of(model, b.InputIds, b.Labels);
                    (refChosen, refRejected) = (refSums.narrow(0, 0, n), refSums.narrow(0, n, n));
                }
        }
        var (pc, pr) = (sums.narrow(0, 0, n), sums.narrow(0, n, n));
        var (cc, cr) = (counts.narrow(0, 0, n), counts.narrow(0, n, n));
        var terms = PreferenceLossTerms.Compute(s, pc, pr, cc, cr, refChosen, refRejected).MoveToOuterDisposeScope();
        return (terms, pc.MoveToOuterDisposeScope(), pr.MoveToOuterDisposeScope(), cc.MoveToOuterDisposeScope());
    }

    /// The mean loss and metrics over every pair of `pairs`, without gradients, in eval mode (restored after).
    public static (double Loss, Dictionary<string, double> Metrics) Evaluate(CausalLM model, PreferenceSettings s, IEnumerable<PreferenceBatch> pairs,
        ReferenceLogps? reference)
    {
        using (EvalMode.On(model))
        {
            using var _ = no_grad();
            using var totals = new PreferenceTotals(s, model.Device);
            foreach (var batch in pairs)
            {
                using var b = batch.MoveTo(model.Device);
                using var scope = NewDisposeScope();
                var (terms, pc, pr, cc) = Run(model, s, b, reference);
                totals.Add(terms, pc, pr, cc);
            }
            return totals.Result();
        }
    }
}
