namespace LoraLab.Sweeps.Tips;

/// How big the lora-tips preset runs: the full scale re-runs every finding on all of the demo's data, `--quick` on a
/// slice of it with a smaller rank grid, so the same findings are judged in a few minutes.
public sealed record TipsScale(string Name, int TrainPerTask, int HeldOutPerTask, int BatchSize, IReadOnlyList<int> Ranks, IReadOnlyList<double> AlphaFactors)
{
    /// Seeds of the baseline: their spread is the noise floor of every verdict, so there are always three.
    public const int Seeds = 3;
    /// The epoch counts compared; the baseline trains one.
    public static readonly IReadOnlyList<int> Epochs = [1, 2, 4];

    /// All 1,200 training and 125 held-out examples of the demo data (its repeat task has 25 held out); r ∈ {4, 16, 64} × alpha ∈ {r/2, r, 2r, 4r}.
    public static readonly TipsScale Full = new("full", 400, 50, 16, [4, 16, 64], [0.5, 1, 2, 4]);
    /// 160 training (60 steps of 8: about the fewest at which the baseline learns the tasks) and 16 held-out examples
    /// of each task; r ∈ {4, 16} × alpha ∈ {r, 2r, 4r}.
    public static readonly TipsScale Quick = new("quick", 160, 16, 8, [4, 16], [1, 2, 4]);
}
