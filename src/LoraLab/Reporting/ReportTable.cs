using System.Globalization;
using LoraLab.Configuration;

namespace LoraLab.Reporting;

/// The report's table: one row per run with its key settings (run.yaml), final metrics and, where any run has
/// saved an evaluation, one column per score of its eval.json ("eval tasks.demo-mc.acc") (a run without that score shows "-").
public sealed record ReportTable(IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows)
{
    public const string None = "-";
    /// Task columns are named by their path in eval.json after this, apart from the run's own losses.
    public const string TaskPrefix = "eval ";

    public static ReportTable Of(IReadOnlyList<RunHistory> runs)
    {
        var tasks = runs.SelectMany(r => r.Tasks.Keys).Distinct().ToList();
        string[] header = ["run", "method", "r", "alpha", "targets", "lr", "batch", "steps", "epochs", "final train loss",
            "final val loss", "trainable params", "peak memory (MB)", "wall time (s)", .. tasks.Select(t => $"{TaskPrefix}{t}")];
        var rows = runs.Select(r =>
        {
            var c = r.Config;
            bool lora = c.Method != TrainMethod.Full;
            IReadOnlyList<string> row = [r.Name, RunChoices.Method.NameOf(c.Method),
                lora ? $"{c.R}" : None, lora ? Num(c.Alpha, "G6") : None, lora ? c.Targets : None,
                Num(c.Lr, "G3"), $"{c.BatchSize}", $"{r.Steps}", Num(r.Epochs, "0.###"),
                Num(r.FinalTrainLoss, "F4"), Num(r.FinalValLoss, "F4"), Num(r.TrainableParameters, "N0"),
                Num(r.PeakMemoryMb, "F0"), Num(r.WallSeconds, "F1"),
                .. tasks.Select(t => r.Tasks.TryGetValue(t, out var v) ? Num(v, "G4") : None)];
            return row;
        }).ToList();
        return new ReportTable(header, rows);
    }

    static string Num(double? v, string format) => v is double x ? x.ToString(format, CultureInfo.InvariantCulture) : None;
    static string Num(long? v, string format) => v is long x ? x.ToString(format, CultureInfo.InvariantCulture) : None;
}
