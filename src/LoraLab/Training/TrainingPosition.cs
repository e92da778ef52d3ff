using System.Diagnostics;

namespace LoraLab.Training;

/// Where the Trainer's loop stands, as it moves: the step, the data position, the running losses and the last
/// checkpoint. Made from a TrainerState (fresh or resumed) and saved back into one with each checkpoint.
sealed class TrainingPosition(TrainerState at, string? resumedFrom)
{
    public int Step = at.Step, Epoch = at.Epoch, BatchInEpoch = at.BatchInEpoch;
    public readonly int FirstStep = at.Step;
    public long Tokens = at.TokensSeen;
    public readonly long TokensAtStart = at.TokensSeen;
    public double? LastTrainLoss = at.LastTrainLoss, LastValLoss = at.LastValLoss;
    /// The epoch's mean train loss so far, as sums (loss × target tokens, target tokens).
    public double EpochLossSum = at.EpochLossSum;
    public long EpochTargets = at.EpochTargets;
    /// The step about to be taken (or just taken) ends the epoch.
    public bool EpochDone;
    /// The last good state until this run saves one.
    public string? LastCheckpoint = resumedFrom;
    public readonly List<EvalReport> Evaluations = new();
    public readonly Stopwatch Clock = Stopwatch.StartNew();

    public void NextEpoch()
    {
        Epoch++;
        BatchInEpoch = 0;
        EpochLossSum = 0;
        EpochTargets = 0;
    }

    public TrainerState State(double elapsedSeconds) => new()
    {
        Step = Step, Epoch = Epoch, BatchInEpoch = BatchInEpoch, TokensSeen = Tokens, LastTrainLoss = LastTrainLoss, LastValLoss = LastValLoss,
        EpochLossSum = EpochLossSum, EpochTargets = EpochTargets, ElapsedSeconds = elapsedSeconds,
    };
}
