using System.Globalization;

namespace LoraLab.Sweeps.Presets;

/// The numbers a preset's findings are judged on, read back from the files the preset wrote, so the report and anyone
/// checking it start from the same values: DIR/results.csv (one row per run) and the preset's own CSV files (each with
/// a `run` column: rows of models that are not runs, or more numbers of a run, merged into its row).
public sealed class SweepNumbers
{
    public const string RunColumn = "run";
    public const string TrainLoss = "final train loss", ValLoss = "final val loss", Trainable = "trainable params",
        PeakMemory = "peak memory (MB)", TokensPerSecond = "tokens/s", WallSeconds = "wall time (s)", Steps = "steps", Status = "status";
    public const string CountAcc = "count acc", FirstExact = "first exact_match", RepeatExact = "repeat exact_match";
    /// The task scores every finding shows: one per demo task family the tasks score.
    public static readonly IReadOnlyList<string> Scores = [CountAcc, FirstExact, RepeatExact];

    readonly Dictionary<string, Dictionary<string, string>> _rows = new(StringComparer.Ordinal);

    /// results.csv, then each of `files` (names in DIR; a file not there is skipped), a later file's cells added to
    /// (or replacing) a run's earlier ones.
    public static SweepNumbers Read(string dir, params IReadOnlyList<string> files)
    {
        var n = new SweepNumbers();
        foreach (var file in (string[])[SweepFolder.ResultsCsv, .. files])
        {
            var path = Path.Combine(dir, file);
            if (!File.Exists(path)) continue;
            foreach (var (run, row) in ReadCsv(path))
            {
                var cells = n._rows.TryGetValue(run, out var had) ? had : n._rows[run] = new(StringComparer.Ordinal);
                foreach (var (column, value) in row) cells[column] = value;
            }
        }
        return n;
    }

    /// The rows of a CSV file with a `run` column, by run name, each as column → cell.
    public static Dictionary<string, IReadOnlyDictionary<string, string>> ReadCsv(string path)
    {
        var rows = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).Select(SplitCsv).ToList();
        if (lines.Count == 0) return rows;
        int key = Array.IndexOf(lines[0], RunColumn);
        if (key < 0) throw new UserException($"{path}: no '{RunColumn}' column");
        foreach (var cells in lines.Skip(1)) rows[cells[key]] = lines[0].Zip(cells).ToDictionary(p => p.First, p => p.Second);
        return rows;
    }

    public bool Has(string run) => _rows.ContainsKey(run);

    /// The run is done (results.csv), or a row of another file (a model scored, not trained).
    public bool Finished(string run) => _rows.TryGetValue(run, out var r) && (!r.TryGetValue(Status, out var s) || s == SweepResults.Done);

    public double? Get(string run, string column) =>
        _rows.TryGetValue(run, out var r) && r.TryGetValue(column, out var v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : null;

    /// A number a finding cannot do without; its absence (a failed or missing run) makes the finding inconclusive.
    public double Need(string run, string column) => Get(run, column)
        ?? throw new MissingNumberException(Finished(run) ? $"{run} has no '{column}'" : $"run {run} did not finish (see {SweepFolder.Runs}/{run})");

    /// RFC 4180 fields: commas, quotes doubled inside quoted fields (what SweepResults.Csv writes).
    public static string[] SplitCsv(string line)
    {
        var cells = new List<string>();
        var cell = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c != '"') cell.Append(c);
                else if (i + 1 < line.Length && line[i + 1] == '"') { cell.Append('"'); i++; }
                else quoted = false;
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { cells.Add(cell.ToString()); cell.Clear(); }
            else cell.Append(c);
        }
        cells.Add(cell.ToString());
        return [.. cells];
    }
}

public sealed class MissingNumberException(string message) : Exception(message);
