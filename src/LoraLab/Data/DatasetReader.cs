using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Data;

/// Reads training records from a JSON array, JSON Lines, or Parquet file (or a folder of them).
/// The container is chosen by extension (`.parquet`) or by the first character (`[` = JSON array,
/// otherwise one JSON object per line); the record format is detected per record by <see cref="RecordParser"/>.
public static class DatasetReader
{
    static readonly string[] FolderExtensions = [".jsonl", ".json", ".parquet"];

    public static IReadOnlyList<Record> Load(string path, DataReadOptions? options = null)
    {
        options ??= DataReadOptions.Default;
        if (Directory.Exists(path)) return LoadFolder(path, options);
        if (!File.Exists(path)) throw new UserException($"dataset not found: {path}");
        var records = Path.GetExtension(path).Equals(".parquet", StringComparison.OrdinalIgnoreCase)
            ? ParquetRows.Read(path)
            : LoadJson(path, options);
        if (records.Count == 0) throw new UserException($"{path}: the dataset is empty (no records)");
        return records;
    }

    /// Hugging Face dataset folders hold shards (`train-00000-of-00002.parquet`); read them in name order.
    static IReadOnlyList<Record> LoadFolder(string dir, DataReadOptions options)
    {
        var files = Directory.EnumerateFiles(dir)
            .Where(f => FolderExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0) throw new UserException($"{dir}: folder has no .jsonl, .json or .parquet files");
        return files.SelectMany(f => Load(f, options)).ToList();
    }

    /// Streamed record by record (RecordStream), so memory follows the largest record, not the file.
    static List<Record> LoadJson(string path, DataReadOptions options)
    {
        using var stream = RecordStream.Open(path, options);
        var records = new List<Record>();
        if (stream.IsArray())
            foreach (var raw in stream.ArrayElements())
                records.Add(RecordParser.Parse(Parse(path, raw, options), $"{path}: record [{records.Count}]"));
        else
            foreach (var raw in stream.Lines())
                records.Add(RecordParser.Parse(Parse(path, raw, options), $"{path}:{raw.Line}"));
        return records;
    }

    static JsonNode? Parse(string path, RawRecord raw, DataReadOptions options)
    {
        var text = RecordStream.Decode(raw, path, options);
        try { return JsonNode.Parse(text, documentOptions: JsonOptions); }
        catch (JsonException e) { throw new UserException($"{path}:{raw.Line + (e.LineNumber ?? 0)}: malformed JSON: {Reason(e)}", e); }
    }

    static readonly JsonDocumentOptions JsonOptions = new() { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Skip };

    /// A JsonException's reason without its position: its message ends with "LineNumber: n | BytePositionInLine: m."
    /// relative to what was parsed, and the file line is given separately.
    internal static string Reason(JsonException e) =>
        e.Message.Split(" Path:", 2)[0].Split(" LineNumber:", 2)[0].TrimEnd('.', ' ');
}
