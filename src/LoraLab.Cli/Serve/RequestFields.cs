using System.Text.Json;
using LoraLab.Serving;

namespace LoraLab.Cli.Serve;

/// The fields of a JSON request body, each read with its type and range checked; a wrong one is a 400 that names
/// it (param). A field that is absent or null takes its default; fields the server does not know are ignored, as
/// vLLM ignores them.
public sealed class RequestFields
{
    readonly JsonElement _root;

    RequestFields(JsonElement root) => _root = root;

    public static async Task<RequestFields> Read(Stream body, CancellationToken cancel)
    {
        JsonDocument doc;
        try { doc = await JsonDocument.ParseAsync(body, default, cancel); }
        catch (JsonException e)
        {
            throw ServeRequestException.Invalid($"We could not parse the JSON body of your request: {e.Message} (the body must be one JSON object)");
        }
        var root = doc.RootElement.Clone();
        doc.Dispose();
        if (root.ValueKind != JsonValueKind.Object) throw ServeRequestException.Invalid($"The request body must be a JSON object, not {Kind(root)}.");
        CheckStrings(root);
        return new RequestFields(root);
    }

    /// A `\uD800`-style escape of a lone surrogate is valid JSON but no text: GetString would throw (a 500) wherever
    /// the field is read, so every string and name is checked once here and such a body is a 400.
    static void CheckStrings(JsonElement e)
    {
        try
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.String: e.GetString(); break;
                case JsonValueKind.Array: foreach (var item in e.EnumerateArray()) CheckStrings(item); break;
                case JsonValueKind.Object: foreach (var p in e.EnumerateObject()) { _ = p.Name; CheckStrings(p.Value); } break;
            }
        }
        catch (InvalidOperationException ex)
        {
            throw ServeRequestException.Invalid($"We could not parse the JSON body of your request: {ex.Message} (strings must be valid Unicode)");
        }
    }

    public static ServeRequestException WrongType(string param, string expected, JsonElement got) =>
        ServeRequestException.Invalid($"Invalid type for '{param}': expected {expected}, but got {Kind(got)} instead.", param);

    public static ServeRequestException WrongValue(string param, string why) => ServeRequestException.Invalid($"Invalid value for '{param}': {why}", param);

    public bool Has(string name) => Get(name) is not null;

    public JsonElement? Get(string name) =>
        _root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public JsonElement Required(string name) =>
        Get(name) ?? throw ServeRequestException.Invalid($"'{name}' is a required property.", name);

    public string RequiredString(string name)
    {
        var v = Required(name);
        if (v.ValueKind != JsonValueKind.String) throw WrongType(name, "a string", v);
        return v.GetString()!;
    }

    public bool Bool(string name, bool fallback)
    {
        if (Get(name) is not { } v) return fallback;
        return v.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => throw WrongType(name, "a boolean", v) };
    }

    public int? Int(string name, int min)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long n)) throw WrongType(name, "an integer", v);
        if (n < min) throw WrongValue(name, $"{n} is less than the minimum of {min}.");
        return (int)Math.Min(n, int.MaxValue);
    }

    public long? Long(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long n)) throw WrongType(name, "an integer", v);
        return n;
    }

    /// A number in [min, max] (or (min, max] when minOpen).
    public double? Number(string name, double min, double max, bool minOpen = false)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out double x) || !double.IsFinite(x)) throw WrongType(name, "a number", v);
        if (x < min || x > max || (minOpen && x == min))
            throw WrongValue(name, $"{x} is not in {(minOpen ? "(" : "[")}{min}, {max}].");
        return x;
    }

    /// `stop`: a string or an array of strings (none empty).
    public IReadOnlyList<string> Stop()
    {
        const string name = "stop";
        if (Get(name) is not { } v) return Array.Empty<string>();
        var list = v.ValueKind switch
        {
            JsonValueKind.String => new List<string> { v.GetString()! },
            JsonValueKind.Array => v.EnumerateArray().Select((e, i) => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw WrongType($"{name}[{i}]", "a string", e)).ToList(),
            _ => throw WrongType(name, "a string or an array of strings", v),
        };
        if (list.Any(s => s.Length == 0)) throw WrongValue(name, "a stop string must not be empty.");
        return list;
    }

    static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };
}
