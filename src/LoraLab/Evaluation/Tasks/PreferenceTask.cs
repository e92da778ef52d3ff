using LoraLab.Configuration;
using LoraLab.Data;
using LoraLab.Data.Preferences;
using LoraLab.Models;
using LoraLab.Tokenization;
using LoraLab.Training.Preferences;
using static TorchSharp.torch;

namespace LoraLab.Evaluation.Tasks;

/// `eval --task dpo`: how strongly a model (the base with its adapter) prefers the chosen completions over the rejected
/// ones, relative to the base alone (the adapter switched off), in DPO's terms: the sigmoid loss and β-scaled rewards,
/// each a mean over pairs with its standard error. Pairs are encoded as `train --method dpo` encodes them, untruncated.
public static class PreferenceTask
{
    public const string Kind = "dpo";
    public const string Loss = "dpo_loss", RewardsChosen = "rewards_chosen", RewardsRejected = "rewards_rejected",
        RewardsMargin = "rewards_margin", RewardsAccuracy = "rewards_accuracy";
    public const int DefaultBatchPairs = 4;

    public static IReadOnlyList<TaskScore> Score(CausalLM model, ITokenizer tok, PromptTemplate template, IReadOnlyList<PreferenceRecord> records,
        double beta, string source, int batchPairs = DefaultBatchPairs)
    {
        int context = model.Config.MaxPositionEmbeddings;
        var set = new PreferenceEncoder(tok, template, context, context - 1).Encode(records, source);
        // Scored whole or not at all: a cut completion (or prompt) would score another pair than the file's.
        int cut = set.Stats.Dropped + set.Stats.PromptsCut + set.Stats.CompletionsCut;
        if (cut > 0)
            throw new UserException($"{source}: {set.Stats.Dropped + set.Stats.PromptsCut} prompts and {set.Stats.CompletionsCut} completions do not fit the model's context of {context} tokens; shorten those pairs");
        var settings = PreferenceSettings.Dpo(beta);
        var loader = new PreferenceLoader(set.Pairs, tok, batchPairs, seed: 0, shuffle: false);
        List<double> loss = [], chosen = [], rejected = [];
        using (EvalMode.On(model))
        {
            using var _ = no_grad();
            foreach (var batch in loader.Epoch(0))
            {
                using var b = batch.MoveTo(model.Device);
                using var scope = NewDisposeScope();
                var (terms, _, _, _) = PreferencePass.Run(model, settings, b, reference: null);
                loss.AddRange(Values(terms.PairLoss));
                chosen.AddRange(Values(terms.RewardsChosen));
                rejected.AddRange(Values(terms.RewardsRejected));
            }
        }
        return
        [
            TaskScore.Mean(Loss, loss), TaskScore.Mean(RewardsChosen, chosen), TaskScore.Mean(RewardsRejected, rejected),
            TaskScore.Mean(RewardsMargin, chosen.Zip(rejected, (c, r) => c - r).ToList()),
            TaskScore.Mean(RewardsAccuracy, chosen.Zip(rejected, (c, r) => c > r ? 1.0 : 0.0).ToList()),
        ];
    }

    static IEnumerable<double> Values(Tensor t)
    {
        using var cpu = t.to(ScalarType.Float64).cpu();
        return cpu.data<double>().ToArray();
    }
}
