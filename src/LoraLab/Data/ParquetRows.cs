using System.Collections;
using System.Text.Json.Nodes;
using Parquet.Serialization;

namespace LoraLab.Data;

/// Reads a Parquet file (the format of Hugging Face Hub datasets) row by row. Each row becomes the same
/// JSON object a JSON Lines file would hold, so one parser serves both and nested columns
/// (`messages: list<struct<role, content>>`) need no special handling.
static class ParquetRows
{
    public static List<Record> Read(string path)
    {
        var rows = Objects(path);
        var records = new List<Record>(rows.Count);
        for (int i = 0; i < rows.Count; i++)
            records.Add(RecordParser.Parse(rows[i], $"{path}: row {i}"));
        return records;
    }

    /// Each row as the JSON object a JSON Lines line would hold.
    public static List<JsonNode?> Objects(string path)
    {
        IList<Dictionary<string, object>> rows;
        try
        {
            using var stream = File.OpenRead(path);
            rows = ParquetSerializer.DeserializeUntypedAsync(stream).GetAwaiter().GetResult().Data;
        }
        // Parquet.Net reports a bad file with several exception types (IO, format, its own); all mean the same here.
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new UserException($"{path}: cannot read as Parquet: {e.Message}", e);
        }
        return rows.Select(ToNode).ToList();
    }

    /// The top-level column names, from the file's schema alone (no rows are read).
    public static IReadOnlyList<string> ColumnNames(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            var reader = Parquet.ParquetReader.CreateAsync(stream).GetAwaiter().GetResult();
            try { return reader.Schema.Fields.Select(f => f.Name).ToList(); }
            finally { reader.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new UserException($"{path}: cannot read as Parquet: {e.Message}", e);
        }
    }

    static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        IDictionary dict => new JsonObject(dict.Keys.Cast<object>()
            .Select(k => KeyValuePair.Create(k.ToString()!, ToNode(dict[k])))),
        IEnumerable list => new JsonArray(list.Cast<object?>().Select(ToNode).ToArray()),
        byte or sbyte or short or ushort or int or uint or long => JsonValue.Create(Convert.ToInt64(value)),
        float or double or decimal => JsonValue.Create(Convert.ToDouble(value)),
        _ => JsonValue.Create(value.ToString()),
    };
}
