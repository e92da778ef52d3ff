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
        var records = IsParquet(path)
            ? ParquetRows.Read(path)
            : LoadJson(path, options);
        if (records.Count == 0) throw new UserException($"{path}: the dataset is empty (no records)");
        return records;
    }

    /// Hugging Face dataset folders hold shards (`train-00000-of-00002.parquet`); read them in name order.
    static IReadOnlyList<Record> LoadFolder(string dir, DataReadOptions options) =>
        FolderFiles(dir).SelectMany(f => Load(f, options)).ToList();

    /// The data files of a folder, in the order they are read (the preference reader reads folders the same way).
    internal static IReadOnlyList<string> FolderFiles(string dir)
    {
        var files = Directory.EnumerateFiles(dir)
            .Where(f => FolderExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0) throw new UserException($"{dir}: folder has no .jsonl, .json or .parquet files");
        return files;
    }

    /// Whether a file is read as Parquet (by its extension).
    internal static bool IsParquet(string path) => Path.GetExtension(path).Equals(".parquet", StringComparison.OrdinalIgnoreCase);

    static List<Record> LoadJson(string path, DataReadOptions options) =>
        JsonObjects(path, options).Select(r => RecordParser.Parse(r.Node, r.Origin)).ToList();

    /// Each record of a JSON array or JSON Lines file as JSON, with where it is ("file: record [i]" with i its
    /// element index, or "file:line" with its line). Streamed record by record (RecordStream), so memory follows the
    /// largest record, not the file.
    internal static IEnumerable<(JsonNode? Node, string Origin, long Position)> JsonObjects(string path, DataReadOptions options)
    {
        using var stream = RecordStream.Open(path, options);
        if (stream.IsArray())
        {
            int i = 0;
            foreach (var raw in stream.ArrayElements())
            {
                yield return (Parse(path, raw, options), $"{path}: record [{i}]", i);
                i++;
            }
        }
        else
            foreach (var raw in stream.Lines())
                yield return (Parse(path, raw, options), $"{path}:{raw.Line}", raw.Line);
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
