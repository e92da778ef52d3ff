namespace LoraLab.Sweeps.Presets;

/// The rule every verdict uses to say whether two numbers differ: a difference counts only when it exceeds twice the
/// standard deviation of the same number across the baseline's seeds, and 2% of the number it is compared with (a
/// floor for numbers that barely move between seeds, such as memory, where a seed spread near 0 would make any
/// difference count), and for a task score one example's share (its resolution: a score of n examples moves in steps
/// of 1/n, so a seed spread of 0 would otherwise make a single example count).
public sealed class NoiseRule(IReadOnlyDictionary<string, double> seedStd, IReadOnlyDictionary<string, double>? resolution = null)
{
    public const double Sigmas = 2, Floor = 0.02;

    /// The rule as a report states it, naming the runs whose seeds set the floor.
    public static string TextFor(string seeds) => "A difference between two runs counts only when it is larger than twice the standard deviation of the same number " +
        $"over {seeds}, larger than 2% of the number it is compared with, and, for a task score, larger than one example's share of it (1/n for n examples).";

    /// The lora-tips preset's wording: its first finding is the baseline's seeds.
    public static readonly string Text = TextFor("the baseline's seeds (finding 1)");

    public double Spread(string column) => seedStd.TryGetValue(column, out var s) ? s : 0;

    public double Threshold(string column, double reference) =>
        Math.Max(Math.Max(Sigmas * Spread(column), Floor * Math.Abs(reference)), resolution?.GetValueOrDefault(column) ?? 0);

    /// Rounding allowed in a comparison, relative to the threshold: scores read back from the CSV files differ by
    /// one example's share only up to rounding (0.96 − 0.94 is 0.020000000000000018 in doubles), which must not count.
    public const double Rounding = 1e-9;

    /// +1 when a is larger than b by more than the threshold, -1 when smaller, 0 when the difference does not count.
    public int Compare(string column, double a, double b)
    {
        double t = Threshold(column, b) * (1 + Rounding);
        return a - b > t ? 1 : b - a > t ? -1 : 0;
    }
}
