using LoraLab.Diagnostics.Profiling;
using LoraLab.Data;
using LoraLab.Models;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// Next-token cross-entropy, HF convention: logits at position i predict labels[i + 1]; -100 is ignored.
public static class Losses
{
    public const long Ignore = -100;

    /// Sum of token losses over all predicted (non-ignored) positions, in float32.
    public static Tensor NextTokenSum(Tensor logits, Tensor labels)
    {
        using var scope = NewDisposeScope();
        long t = logits.shape[1], v = logits.shape[2];
        var pred = logits.narrow(1, 0, t - 1).reshape(-1, v).to(ScalarType.Float32);
        var target = labels.narrow(1, 1, t - 1).reshape(-1);
        return nn.functional.cross_entropy(pred, target, ignore_index: Ignore, reduction: nn.Reduction.Sum).MoveToOuterDisposeScope();
    }

    /// The same sum straight from token ids. Only positions with a target reach the output layer: prompt tokens
    /// masked by the template and right padding cost no head products (on a 32k vocabulary the head is ~40 % of a small
    /// model's step). With a plain dense (or tied) output weight the head and the loss run chunk by chunk without
    /// materialising the logits (<see cref="ChunkedHeadLoss"/>); a head with an adapter or a quantized weight
    /// computes the logits of those positions and takes cross-entropy.
    public static Tensor NextTokenSum(CausalLM model, Tensor inputIds, Tensor labels, Tensor? positionIds = null, Tensor? documentIds = null)
    {
        using var scope = NewDisposeScope();
        // Chosen from the labels before the forward pass: on a GPU the one read of the index's length then waits for
        // nothing but the batch's own copy.
        var rows = TargetPositions(labels);
        var hidden = OpProfile.In(ProfiledOp.HeadLoss, model.Hidden(inputIds, positionIds, documentIds));
        var picked = hidden.reshape(-1, hidden.shape[2]).index_select(0, rows);
        var target = labels.reshape(-1).index_select(0, rows.add(1));
        var weight = model.DenseHeadWeight;
        var sum = weight is null
            ? nn.functional.cross_entropy(model.Head(picked).to(ScalarType.Float32), target, reduction: nn.Reduction.Sum)
            : ChunkedHeadLoss.Sum(picked, weight, target, Ignore);
        return OpProfile.Out(ProfiledOp.HeadLoss, sum).MoveToOuterDisposeScope();
    }

    /// Mean next-token loss over the target tokens of `batches`, without gradients; each batch is moved to the model's
    /// device and disposed. NaN when no batch has a target. Validation during training and the demo's evaluation.
    public static double MeanOver(CausalLM model, IEnumerable<Batch> batches)
    {
        var (sum, targets) = SumOver(model, batches);
        return targets > 0 ? sum / targets : double.NaN;
    }

    /// The next-token loss summed over every target token of the batches, and how many there were.
    public static (double Sum, long Targets) SumOver(CausalLM model, IEnumerable<Batch> batches)
    {
        using var _ = no_grad();
        double sum = 0;
        long targets = 0;
        foreach (var batch in batches)
        {
            using var b = batch.MoveTo(model.Device);
            using var scope = NewDisposeScope();
            sum += NextTokenSum(model, b.InputIds, b.Labels, b.PositionIds, b.DocumentIds).item<float>();
            targets += b.TargetTokens;
        }
        return (sum, targets);
    }

    /// Flat indices b·T + i (i < T − 1) of the positions whose next label is a target, in order.
    public static Tensor TargetPositions(Tensor labels)
    {
        using var scope = NewDisposeScope();
        long b = labels.shape[0], t = labels.shape[1];
        var next = labels.narrow(1, 1, t - 1).ne(Ignore);
        var hasTarget = cat(new[] { next, zeros(b, 1, dtype: ScalarType.Bool, device: labels.device) }, 1);
        return hasTarget.reshape(-1).nonzero().squeeze(1).MoveToOuterDisposeScope();
    }

    /// Number of predicted (non-ignored) positions: labels[:, 1:] != -100.
    public static long TargetCount(Tensor labels)
    {
        using var target = labels.narrow(1, 1, labels.shape[1] - 1);
        using var ne = target.ne(Ignore);
        using var sum = ne.sum();
        return sum.item<long>();
    }

    /// Mean next-token loss over all predicted positions.
    public static Tensor NextTokenMean(Tensor logits, Tensor labels)
    {
        using var sum = NextTokenSum(logits, labels);
        return sum.div(Math.Max(1, TargetCount(labels)));
    }
}
