using System.Globalization;

namespace LoraLab.Sweeps.Tips;

/// The lora-tips preset's runs, by the name each gets under DIR/runs/: what every finding compares.
public static class TipsRuns
{
    public const string Qlora = "qlora", AdamwConstant = "adamw-constant", SgdCosine = "sgd-cosine", SgdConstant = "sgd-constant",
        FullAdamw = "full-adamw", FullSgd = "full-sgd", TargetsKv = "targets-kv", TargetsQv = "targets-qv",
        CountOnly = "count-only", FirstOnly = "first-only", RankPattern = "rank-pattern", RankUniform = "rank-uniform";

    /// The baseline (LoRA on all linear layers, r 16, alpha 32, AdamW with a cosine schedule, one epoch) with seed k
    /// (1-based). Seed 1 is the baseline every other run differs from by one setting.
    public static string Seed(int k) => $"baseline-seed{k}";
    public static readonly string Baseline = Seed(1);
    public static IReadOnlyList<string> Seeds => [.. Enumerable.Range(1, TipsScale.Seeds).Select(Seed)];

    /// The baseline trained for n epochs (n = 1 is the baseline itself).
    public static string Epochs(int n) => n == 1 ? Baseline : $"epochs-{n}";

    /// Rank r with alpha a (r 16 with alpha 32 is the baseline).
    public static string RankAlpha(int r, double alpha) =>
        r == TipsPlan.BaselineR && alpha == TipsPlan.BaselineAlpha ? Baseline : $"r{r}-alpha{alpha.ToString("0.###", CultureInfo.InvariantCulture)}";
}
