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

    /// The same sum straight from token ids, without materialising the (B, T, vocab) logits when the output layer
    /// is a plain dense (or tied) weight: the head and the loss run chunk by chunk (<see cref="ChunkedHeadLoss"/>).
    /// A head with an adapter or a quantized weight takes the plain path.
    public static Tensor NextTokenSum(CausalLM model, Tensor inputIds, Tensor labels, Tensor? positionIds = null, Tensor? documentIds = null)
    {
        using var scope = NewDisposeScope();
        var hidden = model.Hidden(inputIds, positionIds, documentIds);
        var weight = model.DenseHeadWeight;
        if (weight is null) return NextTokenSum(model.Head(hidden), labels).MoveToOuterDisposeScope();
        long t = hidden.shape[1];
        var rows = hidden.narrow(1, 0, t - 1).reshape(-1, hidden.shape[2]);
        var target = labels.narrow(1, 1, t - 1).reshape(-1);
        return ChunkedHeadLoss.Sum(rows, weight, target, Ignore).MoveToOuterDisposeScope();
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
