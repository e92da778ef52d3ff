using System.Text.Json;

namespace LoraLab.Training;

/// metrics.jsonl: one JSON object per logged step and per evaluation, flushed as written.
public sealed class MetricsLog : IDisposable
{
    readonly StreamWriter _w;

    public MetricsLog(string path, bool append)
    {
        _w = new StreamWriter(path, append) { AutoFlush = true };
    }

    public void Write(object record) => _w.WriteLine(JsonSerializer.Serialize(record));

    public void Dispose() => _w.Dispose();
}
