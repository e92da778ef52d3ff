using System.Text.Json;
using System.Text.Json.Nodes;
using LoraLab.Data;

namespace LoraLab.Evaluation.Tasks;

/// Reads a task file: JSON Lines, or Parquet (a `.parquet` file, as the Hub serves datasets), one example per row.
public static class TaskFile
{
    public static List<ChoiceExample> LoadChoices(string path, string format, TaskFields fields, int? limit = null, DataReadOptions? options = null) =>
        Load(path, limit, options, (row, where) => TaskFormat.Choice(format, row, fields, where));

    public static List<GenerationExample> LoadGeneration(string path, string format, TaskFields fields, int? limit = null, DataReadOptions? options = null) =>
        Load(path, limit, options, (row, where) => TaskFormat.Generation(format, row, fields, where));

    /// --limit N: the first N examples; at least one.
    public static void CheckLimit(int? limit)
    {
        if (limit is < 1) throw new UserException($"--limit must be at least 1 (got {limit})");
    }

    static List<T> Load<T>(string path, int? limit, DataReadOptions? options, Func<JsonObject, string, T> read)
    {
        if (!File.Exists(path)) throw new UserException($"{path}: task file not found");
        CheckLimit(limit);
        var result = new List<T>();
        foreach (var (node, where) in Rows(path, options ?? DataReadOptions.Default))
        {
            if (result.Count >= limit) break;
            if (node is not JsonObject row) throw new UserException($"{where}: expected a JSON object");
            result.Add(read(row, where));
        }
        if (result.Count == 0) throw new UserException($"{path}: no examples");
        return result;
    }

    static IEnumerable<(JsonNode? Row, string Where)> Rows(string path, DataReadOptions options)
    {
        if (path.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
        {
            var rows = ParquetRows.Objects(path);
            for (int i = 0; i < rows.Count; i++) yield return (rows[i], $"{path}: row {i}");
            yield break;
        }
        using var stream = RecordStream.Open(path, options);
        if (stream.IsArray()) throw new UserException($"{path}:1: a JSON array (task files are JSON Lines: one example per line)");
        foreach (var raw in stream.Lines())
        {
            JsonNode? node;
            try { node = JsonNode.Parse(RecordStream.Decode(raw, path, options)); }
            catch (JsonException e) { throw new UserException($"{path}:{raw.Line}: malformed JSON ({e.Message.Split('.')[0]})"); }
            yield return (node, $"{path}:{raw.Line}");
        }
    }
}
