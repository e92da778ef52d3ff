using System.Text.Json;
using LoraLab.Runtime;

namespace LoraLab.Tokenization;

/// Small JSON readers shared by the tokenizer file parsers; bad input becomes a UserException naming the file.
internal static class TokenizerJson
{
    public static JsonDocument Parse(string path, FileLimit limit)
    {
        try
        {
            return JsonDocument.Parse(BoundedFile.ReadBytes(path, limit), new JsonDocumentOptions { AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new UserException($"{path} is not valid JSON: {e.Message}", e);
        }
    }

    public static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static bool? Bool(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean() : null;

    public static JsonElement? Obj(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : null;

    public static AddedToken ReadAddedToken(JsonElement e, int id, string file) =>
        new(Str(e, "content") ?? throw new UserException($"{file}: added token {id} has no 'content'"), id,
            Special: Bool(e, "special") ?? false, LStrip: Bool(e, "lstrip") ?? false, RStrip: Bool(e, "rstrip") ?? false);
}
