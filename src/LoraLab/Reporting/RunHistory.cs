using LoraLab.Configuration;

namespace LoraLab.Reporting;

/// One value of a metric at an optimizer step.
public readonly record struct StepValue(int Step, double Value);

/// The rewards curves of a preference run (metrics.jsonl's rewards_accuracy and rewards_margin of train rows, and
/// val_rewards_* of evaluations).
public sealed record PreferenceCurves(IReadOnlyList<StepValue> Accuracy, IReadOnlyList<StepValue> Margin,
    IReadOnlyList<StepValue> ValAccuracy, IReadOnlyList<StepValue> ValMargin)
{
    public bool Any => Accuracy.Count + ValAccuracy.Count > 0;
}

/// What a finished (or stopped) `loralab train` run folder says about itself: its settings (run.yaml), its curves
/// (metrics.jsonl), the size of its final weights and, when an evaluation was saved there, its task scores.
public sealed class RunHistory
{
    /// The run folder as given, and the name plots and tables show (the folder's name).
    public required string Dir { get; init; }
    public required string Name { get; init; }
    public required RunConfig Config { get; init; }

    public required IReadOnlyList<StepValue> TrainLoss { get; init; }
    /// Held-out loss at each evaluation (eval rows, and epoch rows that were evaluated).
    public required IReadOnlyList<StepValue> ValLoss { get; init; }
    public required IReadOnlyList<StepValue> LearningRate { get; init; }
    public required IReadOnlyList<StepValue> TokensPerSecond { get; init; }
    /// A preference run's rewards accuracy and margin, of the training steps and of each evaluation (empty otherwise).
    public required PreferenceCurves Rewards { get; init; }

    /// The last optimizer step logged.
    public required int Steps { get; init; }
    /// Passes over the training data those steps make (run.yaml's steps per epoch); null when run.yaml lacks its plan.
    public required double? Epochs { get; init; }
    /// Tensor elements in the final adapter (or, for full fine-tuning, the final model); null before they are written.
    public required long? TrainableParameters { get; init; }
    /// The largest resident memory metrics.jsonl logged (rss_mb of the train rows), in MB.
    public required double? PeakMemoryMb { get; init; }
    /// The run's training seconds, across resumes: the last elapsed_s of metrics.jsonl.
    public required double? WallSeconds { get; init; }
    /// Every number of RUN_DIR/eval.json, by its path in the object (TaskScores); empty without that file.
    public required IReadOnlyDictionary<string, double> Tasks { get; init; }

    /// A preference run's rewards (RewardKeys) as the last train row logged them, and as the last eval row did (with
    /// val_ in front, as metrics.jsonl names them); empty for a supervised run.
    public IReadOnlyDictionary<string, double> FinalRewards => new[]
    {
        ("rewards_accuracy", Rewards.Accuracy), ("rewards_margin", Rewards.Margin),
        ("val_rewards_accuracy", Rewards.ValAccuracy), ("val_rewards_margin", Rewards.ValMargin),
    }.Where(c => c.Item2.Count > 0).ToDictionary(c => c.Item1, c => c.Item2[^1].Value);

    /// The rewards a sweep's results show: accuracy (share of pairs preferring chosen) and margin.
    public static readonly IReadOnlyList<string> RewardKeys = ["rewards_accuracy", "rewards_margin"];

    public double? FinalTrainLoss => TrainLoss.Count > 0 ? TrainLoss[^1].Value : null;
    public double? FinalValRewardsAccuracy => Rewards.ValAccuracy.Count > 0 ? Rewards.ValAccuracy[^1].Value : null;
    public double? FinalValLoss => ValLoss.Count > 0 ? ValLoss[^1].Value : null;
    /// Training speed: the mean tokens_per_s of the train rows after the first logged one (which carries the warm-up:
    /// the first batches, the allocator growing), or of the only one.
    public double? MeanTokensPerSecond => TokensPerSecond.Count switch
    {
        0 => null,
        1 => TokensPerSecond[0].Value,
        _ => TokensPerSecond.Skip(1).Average(v => v.Value),
    };
}
