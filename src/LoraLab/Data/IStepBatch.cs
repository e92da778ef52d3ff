namespace LoraLab.Data;

/// A micro-batch as the Trainer's loop sees it, whatever the objective: what it counts and what it weighs.
public interface IStepBatch : IDisposable
{
    /// Non-padding tokens, for throughput figures.
    int Tokens { get; }
    /// What the objective's loss is a mean over (target tokens for next-token loss, pairs for preference losses):
    /// the weight of this micro-batch in an epoch's mean train loss.
    int Weight { get; }
}
