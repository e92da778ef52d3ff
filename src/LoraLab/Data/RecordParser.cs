using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Data;

/// Turns one JSON object (a JSON/JSONL line or a Parquet row) into a typed <see cref="Record"/>.
/// The format is decided per record by which columns it has, so mixed files work.
public static class RecordParser
{
    /// Column names that identify a format, in the order they are tried.
    public const string ExpectedColumns =
        "'input_ids' (pre-tokenized), 'messages' (chat), 'conversations' (ShareGPT), 'instruction'+'output' (Alpaca) or 'text' (plain)";

    /// <param name="origin">Where the record is, for error messages ("file.jsonl:3").</param>
    public static Record Parse(JsonNode? node, string origin)
    {
        if (node is not JsonObject obj)
            throw new UserException($"{origin}: expected a JSON object per record, found {Kind(node)}");
        if (obj.ContainsKey("input_ids")) return ParseTokenized(obj, origin);
        if (obj.ContainsKey("messages")) return new ChatRecord(origin, ParseMessages(obj, origin, "messages", "role", "content"));
        if (obj.ContainsKey("conversations")) return new ChatRecord(origin, ParseMessages(obj, origin, "conversations", "from", "value"));
        if (obj.ContainsKey("instruction"))
            return new AlpacaRecord(origin,
                RequiredString(obj, origin, "instruction", "Alpaca records need 'instruction' and 'output'"),
                OptionalString(obj, origin, "input"),
                RequiredString(obj, origin, "output", "Alpaca records need 'instruction' and 'output'"));
        if (obj.ContainsKey("text")) return new TextRecord(origin, RequiredString(obj, origin, "text", "plain-text records need 'text'"));
        var found = obj.Count == 0 ? "none" : string.Join(", ", obj.Select(p => $"'{p.Key}'"));
        throw new UserException($"{origin}: record has none of the known fields (found {found}); expected {ExpectedColumns}" + PreferenceHint(obj));
    }

    /// For a row with 'chosen' and 'rejected': preference pairs are trained and scored by other commands.
    static string PreferenceHint(JsonObject obj) => obj.ContainsKey("chosen") && obj.ContainsKey("rejected")
        ? "; this is preference data (prompt, chosen, rejected): train it with --method dpo or orpo, score it with eval --task dpo" : "";

    /// A list of turns with their roles normalised; errors name the field and turn (`prompt[1].role`).
    internal static IReadOnlyList<ChatMessage> ParseMessages(JsonObject obj, string origin, string field, string roleKey, string contentKey)
    {
        if (obj[field] is not JsonArray turns)
            throw new UserException($"{origin}: field '{field}' must be a list of {{\"{roleKey}\", \"{contentKey}\"}} objects, found {Kind(obj[field])}");
        if (turns.Count == 0) throw new UserException($"{origin}: field '{field}' is an empty list");
        var messages = new List<ChatMessage>(turns.Count);
        for (int i = 0; i < turns.Count; i++)
        {
            var where = $"{field}[{i}]";
            if (turns[i] is not JsonObject turn)
                throw new UserException($"{origin}: field '{where}' must be an object, found {Kind(turns[i])}");
            var rawRole = RequiredString(turn, origin, roleKey, $"each turn needs '{roleKey}' and '{contentKey}'", where);
            var role = NormaliseRole(rawRole) ?? throw new UserException(
                $"{origin}: field '{where}.{roleKey}' has unknown role '{rawRole}' (expected system, user or assistant; ShareGPT: system, human or gpt)");
            messages.Add(new ChatMessage(role, RequiredString(turn, origin, contentKey, $"each turn needs '{roleKey}' and '{contentKey}'", where)));
        }
        return messages;
    }

    /// Both vocabularies are accepted in both forms: data in the wild mixes them.
    static string? NormaliseRole(string role) => role.Trim().ToLowerInvariant() switch
    {
        "system" => ChatMessage.System,
        "user" or "human" => ChatMessage.User,
        "assistant" or "gpt" => ChatMessage.Assistant,
        _ => null,
    };

    static TokenizedRecord ParseTokenized(JsonObject obj, string origin)
    {
        var ids = IntArray(obj, origin, "input_ids");
        if (ids.Length == 0) throw new UserException($"{origin}: field 'input_ids' is empty");
        var labels = obj["labels"] is null ? null : IntArray(obj, origin, "labels");
        if (labels is not null && labels.Length != ids.Length)
            throw new UserException($"{origin}: field 'labels' has {labels.Length} entries but 'input_ids' has {ids.Length}; they must be the same length");
        return new TokenizedRecord(origin, ids, labels);
    }

    static int[] IntArray(JsonObject obj, string origin, string field)
    {
        if (obj[field] is not JsonArray arr)
            throw new UserException($"{origin}: field '{field}' must be a list of integers, found {Kind(obj[field])}");
        var result = new int[arr.Count];
        for (int i = 0; i < arr.Count; i++)
        {
            if (arr[i] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && AsInt(v) is int n)
                result[i] = n;
            else
                throw new UserException($"{origin}: field '{field}[{i}]' must be an integer, found {Kind(arr[i])} {arr[i]?.ToJsonString()}");
        }
        return result;
    }

    // Integral doubles are accepted too: some writers store ids as floats (1.0).
    static int? AsInt(JsonValue v) =>
        v.TryGetValue(out long n) ? (n is >= int.MinValue and <= int.MaxValue ? (int)n : null)
        : v.TryGetValue(out double x) && x == Math.Floor(x) && x is >= int.MinValue and <= int.MaxValue ? (int)x : null;

    static string RequiredString(JsonObject obj, string origin, string field, string hint, string? parent = null)
    {
        var name = parent is null ? field : $"{parent}.{field}";
        if (!obj.TryGetPropertyValue(field, out var node) || node is null)
            throw new UserException($"{origin}: field '{name}' is missing ({hint})");
        return AsString(node, origin, name);
    }

    /// A missing or null optional string reads as empty, as Alpaca's own loader treats `input`.
    static string OptionalString(JsonObject obj, string origin, string field) =>
        obj.TryGetPropertyValue(field, out var node) && node is not null ? AsString(node, origin, field) : "";

    static string AsString(JsonNode node, string origin, string name) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String
            ? v.GetValue<string>()
            : throw new UserException($"{origin}: field '{name}' must be a string, found {Kind(node)}");

    /// What a JSON value is, for error messages ("a string", "a list").
    internal static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "a list",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "a value",
        },
        _ => "a value",
    };
}
