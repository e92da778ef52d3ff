using System.Globalization;
using LoraLab.Configuration;

namespace LoraLab.Sweeps;

/// Finished runs whose run.yaml differ only by `seed` (every other setting that changes what is learned equal):
/// repeats of one configuration, whose spread is the noise every other comparison in the sweep is read against.
public static class SweepSeedGroups
{
    public const string Title = "Runs that differ only by seed";
    public const string SeedsColumn = "seeds";

    /// Groups of done runs with two or more distinct seeds, in the order their first runs are listed. Two runs with
    /// the same settings and the same seed are one configuration trained twice, not seed noise: a group keeps the
    /// first run of each seed.
    public static IReadOnlyList<IReadOnlyList<SweepResultRow>> Groups(IReadOnlyList<SweepResultRow> rows) => rows
        .Where(r => r.Status == SweepResults.Done && r.Config is not null && r.History is not null)
        .GroupBy(r => string.Join("\n", RunSettings.All.Where(s => s.ChangesLearning && s != RunSettings.Seed).Select(s => $"{s.Key}={s.Format(s.Get(r.Config!))}")))
        .Select(g => g.DistinctBy(r => r.Config!.Seed).ToList())
        .Where(g => g.Count > 1).Select(g => (IReadOnlyList<SweepResultRow>)g).ToList();

    /// One row per group: the varied settings but seed (their shared values), the number of seeds, then each numeric
    /// column as `mean ± std` (markdown) or as `<col> mean` and `<col> std` columns (CSV). The standard deviation is
    /// the sample one (n − 1); a column with fewer than two values in a group has none.
    public static (IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows) Table(IReadOnlyList<SweepResultRow> rows, bool markdown)
    {
        var varied = SweepResults.VariedSettings(rows).Where(s => s != RunSettings.Seed).ToList();
        var columns = SweepResults.Columns(rows);
        string[] header = [.. varied.Select(s => s.Key), SeedsColumn,
            .. columns.SelectMany(c => markdown ? [c.Header] : new[] { $"{c.Header} mean", $"{c.Header} std" })];
        var table = Groups(rows).Select(g =>
        {
            var cells = varied.Select(s => SweepResults.Setting(s, g[0].Config)).Append(g.Count.ToString(CultureInfo.InvariantCulture)).ToList();
            foreach (var c in columns)
            {
                var (mean, std) = MeanStd(g.Select(r => c.Value(r.History!)).OfType<double>().ToList());
                string m = SweepResults.Num(mean, c.Format), d = SweepResults.Num(std, c.Format);
                if (markdown) cells.Add(mean is null ? SweepResults.None : std is null ? m : $"{m} ± {d}");
                else { cells.Add(m); cells.Add(d); }
            }
            return (IReadOnlyList<string>)cells;
        }).ToList();
        return (header, table);
    }

    /// The mean and the sample standard deviation (n − 1); null where there are too few values.
    public static (double? Mean, double? Std) MeanStd(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return (null, null);
        double mean = values.Average();
        if (values.Count < 2) return (mean, null);
        return (mean, Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)));
    }
}
