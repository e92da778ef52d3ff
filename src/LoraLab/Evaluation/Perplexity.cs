using LoraLab.Models;
using LoraLab.Training;
using static TorchSharp.torch;

namespace LoraLab.Evaluation;

public sealed record EvalResult(double Loss, double Perplexity, long Tokens, int Sequences);

/// Mean next-token cross-entropy over sequences: each sequence predicts positions 1..n-1 from 0..n-2;
/// the mean is over all predicted tokens of all sequences.
public static class Perplexity
{
    public static EvalResult Evaluate(CausalLM model, IEnumerable<IReadOnlyList<int>> sequences)
    {
        // A plain sequence is an example whose every token is a target.
        var examples = sequences.Select(seq => { var ids = seq.ToArray(); return new Data.TokenizedExample(ids, ids); }).ToList();
        if (examples.All(e => e.Length < 2)) throw new UserException("no sequence has two or more tokens: nothing to evaluate");
        return Evaluate(model, (IEnumerable<Data.TokenizedExample>)examples);
    }

    /// Mean next-token cross-entropy over the labelled positions of built examples (the response tokens when the
    /// prompt is masked): the loss training reports as validation loss.
    public static EvalResult Evaluate(CausalLM model, IEnumerable<Data.TokenizedExample> examples)
    {
        using var _ = no_grad();
        double sum = 0;
        long tokens = 0;
        int count = 0;
        foreach (var e in examples)
        {
            count++;
            if (e.Length < 2) continue;
            using var scope = NewDisposeScope();
            var ids = tensor(e.InputIds.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64, device: model.Device).unsqueeze(0);
            var labels = tensor(e.Labels.Select(i => (long)i).ToArray(), dtype: ScalarType.Int64, device: model.Device).unsqueeze(0);
            sum += Losses.NextTokenSum(model, ids, labels).item<float>(); // logits of target positions only, in chunks
            tokens += e.TargetTokens;
        }
        if (tokens == 0) throw new UserException("no example has a labelled token: nothing to evaluate");
        double loss = sum / tokens;
        return new EvalResult(loss, Math.Exp(loss), tokens, count);
    }
}
