using System.Globalization;

namespace LoraLab.Sweeps.Presets;

/// What every preset's judge shares: the numbers, the noise floor (set once the baseline's seeds are read), a finding
/// that becomes inconclusive, naming the number it lacks, when a run did not finish, and the comparison text each
/// verdict gives as its reason.
public abstract class FindingJudge(SweepNumbers numbers)
{
    protected SweepNumbers N { get; } = numbers;

    NoiseRule? _floor;
    /// Without all the baseline's seeds there is no noise floor and no comparison can be judged.
    protected NoiseRule Floor
    {
        get => _floor ?? throw new MissingNumberException($"no noise floor: {SeedsName} did not all finish");
        set => _floor = value;
    }

    /// The runs whose spread is the noise floor, as a reason names them ("the baseline's seeds").
    protected abstract string SeedsName { get; }
    protected abstract (string Title, string Claim) ClaimOf(string id);
    protected abstract string RuleOf(string id);

    /// A finding whose runs did not all finish is inconclusive, and says which number is missing.
    protected Finding Safe(string id, Func<Finding> judge)
    {
        try { return judge(); }
        catch (MissingNumberException e)
        {
            var (title, claim) = ClaimOf(id);
            return new Finding(id, title, claim, RuleOf(id), ["missing"], [[e.Message]], Verdict.Inconclusive, $"not judged: {e.Message}", []);
        }
    }

    /// The sample standard deviation (n − 1), as the sweep's seed groups compute it; 0 for fewer than two values.
    public static double Std(IReadOnlyList<double> xs) => SweepSeedGroups.MeanStd(xs).Std ?? 0;

    protected static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
    protected static string Signed(double v, string format) => (v >= 0 ? "+" : "") + F(v, format);

    /// "a 0.5000 vs b 0.4000 (difference +0.1000, threshold 0.0200)": the comparison a verdict rests on.
    protected string Diff(string column, string a, string b, string format)
    {
        double x = N.Need(a, column), y = N.Need(b, column);
        return $"{a} {F(x, format)} vs {b} {F(y, format)} (difference {Signed(x - y, format)}, threshold {F(Floor.Threshold(column, y), format)})";
    }
}
