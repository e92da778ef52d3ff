using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Data;

/// Reads training records from a JSON array, JSON Lines, or Parquet file (or a folder of them).
/// The container is chosen by extension (`.parquet`) or by the first character (`[` = JSON array,
/// otherwise one JSON object per line); the record format is detected per record by <see cref="RecordParser"/>.
public static class DatasetReader
{
    static readonly string[] FolderExtensions = [".jsonl", ".json", ".parquet"];

    public static IReadOnlyList<Record> Load(string path)
    {
        if (Directory.Exists(path)) return LoadFolder(path);
        if (!File.Exists(path)) throw new UserException($"dataset not found: {path}");
        var records = Path.GetExtension(path).Equals(".parquet", StringComparison.OrdinalIgnoreCase)
            ? ParquetRows.Read(path)
            : LoadJson(path);
        if (records.Count == 0) throw new UserException($"{path}: the dataset is empty (no records)");
        return records;
    }

    /// Hugging Face dataset folders hold shards (`train-00000-of-00002.parquet`); read them in name order.
    static IReadOnlyList<Record> LoadFolder(string dir)
    {
        var files = Directory.EnumerateFiles(dir)
            .Where(f => FolderExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0) throw new UserException($"{dir}: folder has no .jsonl, .json or .parquet files");
        return files.SelectMany(Load).ToList();
    }

    static List<Record> LoadJson(string path)
    {
        var text = File.ReadAllText(path);
        var first = text.AsSpan().TrimStart();
        return first.Length > 0 && first[0] == '[' ? LoadArray(path, text) : LoadLines(path, text);
    }

    static List<Record> LoadArray(string path, string text)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(text, documentOptions: JsonOptions); }
        catch (JsonException e) { throw Malformed(path, e.LineNumber + 1, e); }
        var records = new List<Record>();
        var array = (JsonArray)root!;
        for (int i = 0; i < array.Count; i++)
            records.Add(RecordParser.Parse(array[i], $"{path}: record [{i}]"));
        return records;
    }

    static List<Record> LoadLines(string path, string text)
    {
        var records = new List<Record>();
        int lineNo = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonNode? node;
            try { node = JsonNode.Parse(line, documentOptions: JsonOptions); }
            catch (JsonException e) { throw Malformed(path, lineNo, e); }
            records.Add(RecordParser.Parse(node, $"{path}:{lineNo}"));
        }
        return records;
    }

    static readonly JsonDocumentOptions JsonOptions = new() { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Skip };

    static UserException Malformed(string path, long? line, JsonException e)
    {
        // JsonException messages end with "LineNumber: n | BytePositionInLine: m." relative to what was parsed;
        // the file line is given separately, so keep only the reason.
        var reason = e.Message.Split(" Path:", 2)[0].Split(" LineNumber:", 2)[0].TrimEnd('.', ' ');
        return new UserException($"{path}:{line}: malformed JSON: {reason}", e);
    }
}
