using LoraLab.Models;

namespace LoraLab.Evaluation.Tasks;

/// One question's outcome: the summed log-likelihood of each choice, the argmax (acc) and the argmax of the
/// log-likelihood per character of the choice (acc_norm).
public sealed record ChoiceOutcome(double[] LogLikelihoods, int Pred, int PredNorm, int Gold)
{
    public bool Correct => Pred == Gold;
    public bool CorrectNorm => PredNorm == Gold;
}

public sealed record MultipleChoiceResult(IReadOnlyList<ChoiceOutcome> Examples)
{
    public TaskScore Acc => TaskScore.Mean("acc", Examples.Select(e => e.Correct ? 1.0 : 0.0).ToList());
    public TaskScore AccNorm => TaskScore.Mean("acc_norm", Examples.Select(e => e.CorrectNorm ? 1.0 : 0.0).ToList());
}

/// Multiple choice by log-likelihood, as lm-evaluation-harness scores it: each choice is the continuation
/// delimiter + choice after the context; acc_norm divides by the choice's length in characters (code points, as
/// Python's len), the delimiter not counted. Ties go to the first choice (numpy's argmax).
public static class MultipleChoice
{
    public static MultipleChoiceResult Score(CausalLM model, IRequestEncoder encoder, IReadOnlyList<ChoiceExample> examples,
        int batchSize = LoglikelihoodScorer.DefaultBatchSize)
    {
        var requests = examples.SelectMany(e => e.Choices.Select(c => encoder.Encode(e.Context, encoder.ChoiceDelimiter + c, e.Input))).ToList();
        // Refused here, where the example and choice are known (the scorer only sees requests).
        for (int k = 0, first = 0; k < examples.Count; first += examples[k].Choices.Count, k++)
            for (int j = 0; j < examples[k].Choices.Count; j++)
            {
                var r = requests[first + j];
                if (r.Continuation.Length == 0)
                    throw new UserException($"example {k + 1}, choice {j + 1}: the choice has no tokens (empty)");
                if (r.Continuation.Length > model.Config.MaxPositionEmbeddings)
                    throw new UserException($"example {k + 1}, choice {j + 1}: {r.Continuation.Length} tokens, more than the model's context ({model.Config.MaxPositionEmbeddings})");
            }
        var lls = LoglikelihoodScorer.Score(model, requests, batchSize);
        var outcomes = new List<ChoiceOutcome>(examples.Count);
        int at = 0;
        foreach (var e in examples)
        {
            var ll = lls[at..(at + e.Choices.Count)];
            at += e.Choices.Count;
            var norm = ll.Select((v, i) => v / Math.Max(1, e.Choices[i].EnumerateRunes().Count())).ToArray();
            outcomes.Add(new ChoiceOutcome(ll, ArgMax(ll), ArgMax(norm), e.Gold));
        }
        return new MultipleChoiceResult(outcomes);
    }

    static int ArgMax(double[] xs)
    {
        int best = 0;
        for (int i = 1; i < xs.Length; i++) if (xs[i] > xs[best]) best = i;
        return best;
    }
}
