using static TorchSharp.torch;

namespace LoraLab.Data;

/// One rank's part of a data-parallel micro-batch: its rows (null when the micro-batch has fewer rows than there are
/// ranks and none fall to it), with the whole micro-batch's counts, which the loss divides by and the loop logs.
public sealed class RankShare(Batch? rows, int targetTokens, int tokens) : IStepBatch
{
    public Batch? Rows { get; private set; } = rows;
    /// Target tokens of the whole micro-batch (every rank's rows).
    public int TargetTokens => targetTokens;
    public int Tokens => tokens;
    int IStepBatch.Weight => targetTokens;

    public RankShare MoveTo(Device device)
    {
        Rows = Rows?.MoveTo(device);
        return this;
    }

    public void Dispose() => Rows?.Dispose();
}
