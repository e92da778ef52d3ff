using System.Globalization;
using System.Text;
using LoraLab.Configuration;
using LoraLab.Reporting;
using LoraLab.Training;

namespace LoraLab.Sweeps;

/// One row of a sweep's results: a run folder's name, its status (done / failed / missing), its settings
/// (run.yaml) and, where it logged steps, what RunHistoryReader reads of it.
public sealed record SweepResultRow(string Name, string Status, RunConfig? Config, RunHistory? History);

/// A numeric column of the results: its header, its value for a run that logged steps, and its printed form.
public sealed record SweepColumn(string Header, Func<RunHistory, double?> Value, string Format);

/// DIR/results.csv and DIR/results.md: one row per run folder under DIR/runs/. The setting columns are the settings
/// that change what is learned and whose values differ between the runs' run.yaml files: the keys the sweep varies,
/// found the same way whether the folder was written by one sweep or collected from shards (no sweep file needed).
public static class SweepResults
{
    public const string Done = "done", Failed = "failed", Missing = "missing";
    internal const string None = "";

    public static IReadOnlyList<SweepResultRow> Read(string dir) => SweepFolder.RunDirs(dir).Select(ReadRun).ToList();

    /// done: the final weights are written; failed: the sweep recorded an error; missing: neither (not started, or
    /// killed). A run that is not done is read as far as its files go: a failed run may have no run.yaml at all.
    static SweepResultRow ReadRun(string runDir)
    {
        var name = RunHistoryReader.FolderName(runDir);
        var status = RunFolder.HasFinalWeights(runDir) ? Done
            : File.Exists(Path.Combine(runDir, SweepFolder.ErrorFile)) ? Failed : Missing;
        if (status == Done) { var done = RunHistoryReader.Read(runDir, name); return new(name, status, done.Config, done); }
        RunHistory? history = null;
        RunConfig? config = null;
        try { history = RunHistoryReader.Read(runDir, name); config = history.Config; }
        catch (UserException)
        {
            var yaml = Path.Combine(runDir, RunFolder.RunYaml);
            try { if (File.Exists(yaml)) config = RunConfig.LoadYaml(yaml); }
            catch (UserException) { } // a broken run.yaml of an unfinished run: the row says only its status
        }
        return new(name, status, config, history);
    }

    /// The settings that change what is learned and differ between the runs, in the order RunSettings declares them.
    public static IReadOnlyList<IRunSetting> VariedSettings(IReadOnlyList<SweepResultRow> rows)
    {
        var configs = rows.Where(r => r.Config is not null).Select(r => r.Config!).ToList();
        return RunSettings.All.Where(s => s.ChangesLearning && configs.Select(c => s.Format(s.Get(c))).Distinct().Count() > 1).ToList();
    }

    /// The numeric columns, in order: the losses, a preference run's final rewards (train, then val_; only when a run
    /// logged them), one per task score of the runs' eval.json (`count acc`, in the order
    /// first met), then steps, size, memory, time and speed.
    public static IReadOnlyList<SweepColumn> Columns(IReadOnlyList<SweepResultRow> rows)
    {
        const string tasks = TaskScoreSet.TasksKey + ".";
        var keys = rows.SelectMany(r => r.History?.Tasks.Keys ?? []).Where(k => k.StartsWith(tasks, StringComparison.Ordinal)).Distinct().ToList();
        var rewards = new[] { "", "val_" }.SelectMany(p => RunHistory.RewardKeys.Select(k => p + k))
            .Where(k => rows.Any(r => r.History?.FinalRewards.ContainsKey(k) == true)).ToList();
        return [
            new("final train loss", h => h.FinalTrainLoss, "F4"), new("final val loss", h => h.FinalValLoss, "F4"),
            .. rewards.Select(k => new SweepColumn($"final {k}", h => h.FinalRewards.TryGetValue(k, out var v) ? v : null, "F4")),
            .. keys.Select(k => new SweepColumn(k[tasks.Length..], h => h.Tasks.TryGetValue(k, out var v) ? v : null, "F4")),
            new("steps", h => h.Steps, "F0"), new("trainable params", h => h.TrainableParameters, "F0"),
            new("peak memory (MB)", h => h.PeakMemoryMb, "F0"), new("wall time (s)", h => h.WallSeconds, "F1"),
            new("tokens/s", h => h.MeanTokensPerSecond, "F1"),
        ];
    }

    public static (IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows) Table(IReadOnlyList<SweepResultRow> rows)
    {
        var varied = VariedSettings(rows);
        var columns = Columns(rows);
        string[] header = ["run", "status", .. varied.Select(s => s.Key), .. columns.Select(c => c.Header)];
        var table = rows.Select(r =>
        {
            IReadOnlyList<string> row = [r.Name, r.Status, .. varied.Select(s => Setting(s, r.Config)),
                .. columns.Select(c => r.History is null ? None : Num(c.Value(r.History), c.Format))];
            return row;
        }).ToList();
        return (header, table);
    }

    /// Reads DIR/runs/* and writes DIR/results.csv and DIR/results.md, and DIR/results-by-seed.csv when runs differ
    /// only by seed (SweepSeedGroups), each replaced whole (a temporary file in DIR, renamed over the old one) so a
    /// reader never sees half a table. Returns the rows.
    public static IReadOnlyList<SweepResultRow> Write(string dir)
    {
        var rows = Read(dir);
        var (header, table) = Table(rows);
        var md = Markdown(header, table);
        var bySeed = Path.Combine(dir, SweepFolder.ResultsBySeedCsv);
        if (SweepSeedGroups.Groups(rows).Count > 0)
        {
            var (seedHeader, seedRows) = SweepSeedGroups.Table(rows, markdown: true);
            md += $"\n## {SweepSeedGroups.Title}\n\n" + Table(seedHeader, seedRows);
            var (csvHeader, csvRows) = SweepSeedGroups.Table(rows, markdown: false);
            IO.AtomicFile.WriteAllText(bySeed, Csv(csvHeader, csvRows));
        }
        else if (File.Exists(bySeed)) File.Delete(bySeed); // from runs since retried: no group now
        IO.AtomicFile.WriteAllText(Path.Combine(dir, SweepFolder.ResultsCsv), Csv(header, table));
        IO.AtomicFile.WriteAllText(Path.Combine(dir, SweepFolder.ResultsMd), md);
        return rows;
    }

    public static string Csv(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var sb = new StringBuilder();
        foreach (var line in rows.Prepend(header)) sb.Append(string.Join(",", line.Select(CsvField))).Append('\n');
        return sb.ToString();
    }

    public static string Markdown(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows) =>
        "# Sweep results\n\n" + Table(header, rows);

    /// An empty cell shows as "-".
    static string Table(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows) =>
        MarkdownTable.Of(header, rows.Select(r => (IReadOnlyList<string>)[.. r.Select(c => c == None ? "-" : c)]));

    static string CsvField(string s) => s.IndexOfAny([',', '"', '\n', '\r']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";

    internal static string Num(double? v, string format) => v is double x ? x.ToString(format, CultureInfo.InvariantCulture) : None;
    internal static string Setting(IRunSetting s, RunConfig? c) => c is null ? None : s.Format(s.Get(c)) ?? "none";
}
