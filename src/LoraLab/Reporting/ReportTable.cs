using System.Globalization;
using LoraLab.Configuration;

namespace LoraLab.Reporting;

/// The report's table: one row per run with its key settings (run.yaml), then any other setting that changes what is
/// learned and differs between the runs (a sweep's optimizer, schedule, seed, ...), final metrics and, where any run
/// has saved an evaluation, one column per score of its eval.json ("eval tasks.demo-mc.acc") (a run without that score
/// shows "-"); a sweep's standard errors and example counts stay in eval.json.
public sealed record ReportTable(IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows)
{
    public const string None = "-";
    /// Task columns are named by their path in eval.json after this, apart from the run's own losses.
    public const string TaskPrefix = "eval ";

    /// The settings every report shows in their own columns (epochs and max_steps as the steps and epochs run).
    static readonly IRunSetting[] Shown = [RunSettings.Method, RunSettings.R, RunSettings.Alpha, RunSettings.Targets, RunSettings.Lr,
        RunSettings.BatchSize, RunSettings.Epochs, RunSettings.MaxSteps];

    public static ReportTable Of(IReadOnlyList<RunHistory> runs)
    {
        var tasks = runs.SelectMany(r => r.Tasks.Keys)
            .Where(k => !k.StartsWith(Sweeps.TaskScoreSet.StdErrKey + ".") && !k.StartsWith(Sweeps.TaskScoreSet.ExamplesKey + ".")).Distinct().ToList();
        bool preference = runs.Any(r => r.Config.IsPreference);
        var varied = RunSettings.All.Where(s => s.ChangesLearning && !Shown.Contains(s)
            && runs.Select(r => Display(s, r.Config)).Distinct().Count() > 1).ToList();
        string[] header = ["run", "method", "r", "alpha", "targets", "lr", "batch", .. varied.Select(s => s.Key), "steps", "epochs", "final train loss",
            "final val loss", .. preference ? ["final val rewards accuracy"] : Array.Empty<string>(), "trainable params", "peak memory (MB)", "wall time (s)",
            .. tasks.Select(t => $"{TaskPrefix}{t}")];
        var rows = runs.Select(r =>
        {
            var c = r.Config;
            bool lora = !c.Method.TrainsEveryWeight();
            IReadOnlyList<string> row = [r.Name, RunChoices.Method.NameOf(c.Method),
                lora ? $"{c.R}" : None, lora ? Num(c.Alpha, "G6") : None, lora ? c.Targets : None,
                Num(c.Lr, "G3"), $"{c.BatchSize}", .. varied.Select(s => Display(s, c)), $"{r.Steps}", Num(r.Epochs, "0.###"),
                Num(r.FinalTrainLoss, "F4"), Num(r.FinalValLoss, "F4"), .. preference ? [Num(r.FinalValRewardsAccuracy, "F3")] : Array.Empty<string>(),
                Num(r.TrainableParameters, "N0"),
                Num(r.PeakMemoryMb, "F0"), Num(r.WallSeconds, "F1"),
                .. tasks.Select(t => r.Tasks.TryGetValue(t, out var v) ? Num(v, "G4") : None)];
            return row;
        }).ToList();
        return new ReportTable(header, rows);
    }

    /// A setting's value as the table shows it: a path by its last part (the runs' data files, not where they live).
    static string Display(IRunSetting s, RunConfig c) =>
        !RunSettings.AppliesTo(s, c.Method) ? None : s.Format(s.Get(c)) is not { } v ? "none" : s.IsPath ? Path.GetFileName(Path.TrimEndingDirectorySeparator(v)) : v;

    static string Num(double? v, string format) => v is double x ? x.ToString(format, CultureInfo.InvariantCulture) : None;
    static string Num(long? v, string format) => v is long x ? x.ToString(format, CultureInfo.InvariantCulture) : None;
}
