using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Training;

/// metrics.jsonl: one JSON object per logged step and per evaluation, flushed as written, each stamped with the
/// wall-clock `time` (ISO 8601 UTC) and `elapsed_s`, the run's training seconds (across resumes).
public sealed class MetricsLog : IDisposable
{
    readonly StreamWriter _w;
    readonly double _elapsedBefore;
    readonly Stopwatch _clock = Stopwatch.StartNew();

    /// `elapsedBefore`: the seconds the run had already trained before this log was opened (a resumed run).
    public MetricsLog(string path, bool append, double elapsedBefore = 0)
        : this(new StreamWriter(path, append) { AutoFlush = true }, elapsedBefore) { }

    MetricsLog(StreamWriter w, double elapsedBefore)
    {
        _w = w;
        _elapsedBefore = elapsedBefore;
    }

    /// A log that keeps the clock but writes nothing: a data-parallel rank other than 0 (rank 0 writes the run's log).
    public static MetricsLog Discarding(double elapsedBefore) => new(StreamWriter.Null, elapsedBefore);

    public double ElapsedSeconds => _elapsedBefore + _clock.Elapsed.TotalSeconds;

    /// `extra`: more fields for the row (an objective's metrics), after the record's own.
    public void Write(object record, IReadOnlyDictionary<string, double>? extra = null)
    {
        var row = JsonSerializer.SerializeToNode(record)!.AsObject();
        if (extra is not null)
            foreach (var (k, v) in extra) row[k] = double.IsFinite(v) ? v : null;
        row["time"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        row["elapsed_s"] = Math.Round(ElapsedSeconds, 3);
        _w.WriteLine(row.ToJsonString());
    }

    public void Dispose() => _w.Dispose();

    /// On resume: drop the rows logged after the checkpoint's step (the run is about to redo those steps), and a
    /// torn last line from a kill. Written to a temporary and renamed over the log, so a crash keeps one or the other.
    public static void CutBack(string path, int step)
    {
        if (!File.Exists(path)) return;
        var kept = new List<string>();
        foreach (var line in File.ReadLines(path))
        {
            JsonNode? row;
            try { row = JsonNode.Parse(line); }
            catch (JsonException) { break; }
            if (row is JsonObject o && o["step"] is JsonValue v && v.TryGetValue<int>(out var s) && s > step) break;
            kept.Add(line);
        }
        var tmp = AtomicDirectory.TempName(Path.GetFullPath(path));
        File.WriteAllLines(tmp, kept);
        File.Move(tmp, path, overwrite: true);
    }
}
