using LoraLab.Models;
using static TorchSharp.torch;

namespace LoraLab.Training.Preferences;

/// Each row's summed log-probability of its labelled tokens (a completion and its EOS; HF's shift: logits at i score
/// labels[i + 1]) and their count. Only labelled positions reach the output layer, in fp32.
public static class CompletionLogps
{
    /// `Sums` (rows) carries gradients when the model does; `Counts` (rows, fp32) are the labelled tokens per row.
    public static (Tensor Sums, Tensor Counts) Of(CausalLM model, Tensor inputIds, Tensor labels)
    {
        using var scope = NewDisposeScope();
        long rows = labels.shape[0], t = labels.shape[1];
        var positions = Losses.TargetPositions(labels);
        var hidden = model.Hidden(inputIds);
        var picked = hidden.reshape(-1, hidden.shape[2]).index_select(0, positions);
        var target = labels.reshape(-1).index_select(0, positions.add(1));
        // A plain frozen head runs chunk by chunk without the (tokens, vocab) logits (ChunkedHeadLoss); an adapted or
        // quantized head computes the logits of these positions.
        var tokenLogps = model.DenseHeadWeight is { requires_grad: false } weight
            ? ChunkedHeadLoss.PerRow(picked, weight, target).neg()
            : nn.functional.cross_entropy(model.Head(picked).to(ScalarType.Float32), target, reduction: nn.Reduction.None).neg();
        var rowOf = positions.div(t, rounding_mode: RoundingMode.floor);
        var sums = zeros(rows, dtype: ScalarType.Float32, device: labels.device).index_add(0, rowOf, tokenLogps, 1);
        var counts = labels.narrow(1, 1, t - 1).ne(Losses.Ignore).sum(1).to(ScalarType.Float32);
        return (sums.MoveToOuterDisposeScope(), counts.MoveToOuterDisposeScope());
    }
}
