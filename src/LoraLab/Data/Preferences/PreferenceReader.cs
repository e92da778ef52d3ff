using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Data.Preferences;

/// Reads preference data in TRL's standard form (`prompt`, `chosen`, `rejected`: all strings, or all lists of
/// {role, content} messages) from a JSON Lines, JSON array or Parquet file, or a folder of them, through the same
/// containers as <see cref="DatasetReader"/>; every bad row is a UserException naming file, line and field.
public static class PreferenceReader
{
    public const string Prompt = "prompt", Chosen = "chosen", Rejected = "rejected";
    const string Needs = "preference rows need 'prompt', 'chosen' and 'rejected'";
    /// Fields of the supervised forms (RecordParser), named when a row has them instead of a pair.
    static readonly string[] SupervisedFields = ["messages", "conversations", "instruction", "text", "input_ids"];

    public static IReadOnlyList<PreferenceRecord> Load(string path, DataReadOptions? options = null)
    {
        options ??= DataReadOptions.Default;
        if (Directory.Exists(path)) return DatasetReader.FolderFiles(path).SelectMany(f => Load(f, options)).ToList();
        if (!File.Exists(path)) throw new UserException($"preference data not found: {path}");
        var records = Objects(path, options).Select(o => Parse(o.Node, o.Origin, path, o.Position)).ToList();
        if (records.Count == 0) throw new UserException($"{path}: the preference data is empty (no records)");
        return records;
    }

    /// Whether the file (or a folder's first file) holds preference pairs: its first record has `chosen` and
    /// `rejected` (for Parquet: its columns). Cheap (one record is read) and never throws: a file it cannot read is
    /// not one, and the reader that loads it reports why.
    public static bool IsPreferenceFile(string path, DataReadOptions? options = null)
    {
        try
        {
            if (Directory.Exists(path)) path = DatasetReader.FolderFiles(path)[0];
            if (!File.Exists(path)) return false;
            if (DatasetReader.IsParquet(path)) return HasPairColumns(ParquetRows.ColumnNames(path));
            var first = DatasetReader.JsonObjects(path, options ?? DataReadOptions.Default).FirstOrDefault();
            return first.Node is JsonObject o && HasPairColumns(o.Select(p => p.Key));
        }
        catch (UserException) { return false; }
    }

    static bool HasPairColumns(IEnumerable<string> names)
    {
        var set = names.ToHashSet(StringComparer.Ordinal);
        return set.Contains(Chosen) && set.Contains(Rejected);
    }

    static IEnumerable<(JsonNode? Node, string Origin, long Position)> Objects(string path, DataReadOptions options) =>
        DatasetReader.IsParquet(path)
            ? ParquetRows.Objects(path).Select((n, i) => (n, $"{path}: row {i}", (long)i))
            : DatasetReader.JsonObjects(path, options);

    /// One row; `position` is the line, element or row number that `origin` shows.
    public static PreferenceRecord Parse(JsonNode? node, string origin, string source, long position)
    {
        if (node is not JsonObject obj)
            throw new UserException($"{origin}: expected a JSON object per record, found {RecordParser.Kind(node)}");
        foreach (var field in new[] { Prompt, Chosen, Rejected })
            if (!obj.TryGetPropertyValue(field, out var value) || value is null)
                throw new UserException($"{origin}: field '{field}' is missing ({Needs}{SupervisedHint(obj)})");
        int line = (int)Math.Min(position, int.MaxValue);
        bool chat = obj[Prompt] is JsonArray;
        foreach (var field in new[] { Prompt, Chosen, Rejected })
        {
            var value = obj[field]!;
            if (chat ? value is JsonArray : IsString(value)) continue;
            if (value is JsonArray || IsString(value))
                throw new UserException($"{origin}: field '{field}' is {Form(value)} but 'prompt' is {Form(obj[Prompt]!)}; " +
                    "a row's 'prompt', 'chosen' and 'rejected' are all strings or all lists of {\"role\", \"content\"} messages");
            throw new UserException($"{origin}: field '{field}' must be a string or a list of {{\"role\", \"content\"}} messages, found {RecordParser.Kind(value)}");
        }
        return chat ? ParseChat(obj, origin, source, line) : ParseText(obj, origin, source, line);
    }

    static TextPreference ParseText(JsonObject obj, string origin, string source, int line)
    {
        string Text(string field)
        {
            var s = obj[field]!.GetValue<string>();
            return s.Length > 0 ? s : throw new UserException($"{origin}: field '{field}' is empty");
        }
        return new TextPreference(origin, source, line, Text(Prompt), Text(Chosen), Text(Rejected));
    }

    static ChatPreference ParseChat(JsonObject obj, string origin, string source, int line)
    {
        var prompt = RecordParser.ParseMessages(obj, origin, Prompt, "role", "content");
        if (prompt[^1].Role != ChatMessage.User)
            throw new UserException($"{origin}: field '{Prompt}[{prompt.Count - 1}].role' is '{prompt[^1].Role}'; the prompt must end with a user message");
        return new ChatPreference(origin, source, line, prompt, Completion(obj, origin, Chosen), Completion(obj, origin, Rejected));
    }

    /// A completion: one or more assistant messages, none empty.
    static IReadOnlyList<ChatMessage> Completion(JsonObject obj, string origin, string field)
    {
        var messages = RecordParser.ParseMessages(obj, origin, field, "role", "content");
        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i].Role != ChatMessage.Assistant)
                throw new UserException($"{origin}: field '{field}[{i}].role' is '{messages[i].Role}'; a completion holds assistant messages only");
            if (messages[i].Content.Length == 0)
                throw new UserException($"{origin}: field '{field}[{i}].content' is empty");
        }
        return messages;
    }

    static bool IsString(JsonNode node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String;

    static string Form(JsonNode node) => node is JsonArray ? "a list of messages" : "a string";

    /// "; found 'messages': ..." when the row is a supervised record, so a file given to the wrong method says so.
    static string SupervisedHint(JsonObject obj)
    {
        var found = SupervisedFields.Where(obj.ContainsKey).Select(f => $"'{f}'").ToList();
        return found.Count == 0 ? "" : $"; found {string.Join(", ", found)}: this is supervised (SFT) data, not preference pairs";
    }
}
