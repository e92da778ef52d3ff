using System.Globalization;
using System.Text;
using LoraLab.Configuration;
using LoraLab.Reporting;
using LoraLab.Training;

namespace LoraLab.Sweeps;

/// One row of a sweep's results: a run folder's name, its status (done / failed / missing), its settings
/// (run.yaml) and, where it logged steps, what RunHistoryReader reads of it.
public sealed record SweepResultRow(string Name, string Status, RunConfig? Config, RunHistory? History);

/// DIR/results.csv and DIR/results.md: one row per run folder under DIR/runs/. The setting columns are the settings
/// that change what is learned and whose values differ between the runs' run.yaml files: the keys the sweep varies,
/// found the same way whether the folder was written by one sweep or collected from shards (no sweep file needed).
public static class SweepResults
{
    public const string Done = "done", Failed = "failed", Missing = "missing";
    const string None = "";

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

    public static (IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows) Table(IReadOnlyList<SweepResultRow> rows)
    {
        var varied = VariedSettings(rows);
        string[] header = ["run", "status", .. varied.Select(s => s.Key), "final train loss", "final val loss", "steps",
            "trainable params", "peak memory (MB)", "wall time (s)"];
        var table = rows.Select(r =>
        {
            var h = r.History;
            IReadOnlyList<string> row = [r.Name, r.Status,
                .. varied.Select(s => r.Config is null ? None : s.Format(s.Get(r.Config)) ?? "none"),
                Num(h?.FinalTrainLoss, "F4"), Num(h?.FinalValLoss, "F4"), h is null ? None : $"{h.Steps}",
                Num(h?.TrainableParameters), Num(h?.PeakMemoryMb, "F0"), Num(h?.WallSeconds, "F1")];
            return row;
        }).ToList();
        return (header, table);
    }

    /// Reads DIR/runs/* and writes DIR/results.csv and DIR/results.md, each replaced whole (a temporary file in DIR,
    /// renamed over the old one) so a reader never sees half a table. Returns the rows.
    public static IReadOnlyList<SweepResultRow> Write(string dir)
    {
        var rows = Read(dir);
        var (header, table) = Table(rows);
        WriteAtomic(Path.Combine(dir, SweepFolder.ResultsCsv), Csv(header, table));
        WriteAtomic(Path.Combine(dir, SweepFolder.ResultsMd), Markdown(header, table));
        return rows;
    }

    public static string Csv(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var sb = new StringBuilder();
        foreach (var line in rows.Prepend(header)) sb.Append(string.Join(",", line.Select(CsvField))).Append('\n');
        return sb.ToString();
    }

    public static string Markdown(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        static string Line(IEnumerable<string> cells) => "| " + string.Join(" | ", cells.Select(c => c.Replace("|", "\\|"))) + " |\n";
        var sb = new StringBuilder("# Sweep results\n\n");
        sb.Append(Line(header)).Append(Line(header.Select(_ => "---")));
        foreach (var row in rows) sb.Append(Line(row.Select(c => c == None ? "-" : c)));
        return sb.ToString();
    }

    static string CsvField(string s) => s.IndexOfAny([',', '"', '\n', '\r']) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";

    static void WriteAtomic(string path, string text)
    {
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }

    static string Num(double? v, string format) => v is double x ? x.ToString(format, CultureInfo.InvariantCulture) : None;
    static string Num(long? v) => v is long x ? x.ToString(CultureInfo.InvariantCulture) : None;
}
