using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Data;

/// A micro-batch as tensors, all (B, T) int64. Labels hold <see cref="Labels.Ignore"/> at padding and at
/// masked positions. `DocumentIds` is null when a plain causal mask is right (one example per row, padding
/// only on the right, which causal attention never lets a real token see); for packed rows it gives each
/// token's example (padding -1) so the model can build a block-diagonal causal mask.
public sealed class Batch : IStepBatch
{
    public Tensor InputIds { get; }
    public Tensor Labels { get; }
    public Tensor PositionIds { get; }
    public Tensor? DocumentIds { get; }

    /// The attention mask in the form this pipeline gives it: document ids, or null for plain causal.
    public Tensor? AttentionMask => DocumentIds;

    /// Labels other than Ignore at positions 1..T-1: the predictions the loss averages over. Summed over the
    /// micro-batches of a step it is the divisor that makes gradient accumulation equal to one large batch.
    public int TargetTokens { get; }

    /// Non-padding tokens, for throughput figures.
    public int Tokens { get; }

    public Batch(Tensor inputIds, Tensor labels, Tensor positionIds, Tensor? documentIds, int targetTokens, int tokens)
    {
        InputIds = inputIds;
        Labels = labels;
        PositionIds = positionIds;
        DocumentIds = documentIds;
        TargetTokens = targetTokens;
        Tokens = tokens;
    }

    /// Next-token loss is a mean over target tokens.
    int IStepBatch.Weight => TargetTokens;

    public long Rows => InputIds.shape[0];
    public long Length => InputIds.shape[1];

    /// Moves the batch to a device: returns this batch when it is already there, otherwise a new batch on
    /// that device and this one is disposed. Either way the caller disposes only what is returned.
    public Batch MoveTo(Device device)
    {
        if (InputIds.device_type == device.type && InputIds.device_index == device.index) return this;
        var moved = new Batch(InputIds.to(device), Labels.to(device), PositionIds.to(device), DocumentIds?.to(device), TargetTokens, Tokens);
        Dispose();
        return moved;
    }

    public void Dispose()
    {
        InputIds.Dispose();
        Labels.Dispose();
        PositionIds.Dispose();
        DocumentIds?.Dispose();
    }
}
