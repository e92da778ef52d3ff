using System.Text.Json;
using LoraLab.Data;
using LoraLab.Serving;

namespace LoraLab.Cli.Serve;

/// A parsed /v1/chat/completions or /v1/completions body: the engine's request plus how the answer is sent.
public sealed record CompletionCall(CompletionRequest Request, bool Chat, bool Stream, bool IncludeUsage)
{
    /// /v1/chat/completions: OpenAI's fields, `max_completion_tokens` as the newer spelling of `max_tokens`.
    public static CompletionCall ParseChat(RequestFields f)
    {
        var messages = f.Required("messages");
        if (messages.ValueKind != JsonValueKind.Array) throw RequestFields.WrongType("messages", "an array", messages);
        var list = messages.EnumerateArray().Select(Message).ToList();
        if (list.Count == 0) throw RequestFields.WrongValue("messages", "the array must contain at least one message.");
        var maxTokens = f.Int("max_completion_tokens", 1) ?? f.Int("max_tokens", 1);
        var (stream, usage) = Delivery(f);
        return new CompletionCall(Sampling(f, maxTokens) with { Messages = list }, Chat: true, stream, usage);
    }

    /// /v1/completions: `prompt` a string (or an array holding one string).
    public static CompletionCall ParseCompletion(RequestFields f)
    {
        var p = f.Required("prompt");
        string prompt = p.ValueKind switch
        {
            JsonValueKind.String => p.GetString()!,
            JsonValueKind.Array when p.GetArrayLength() == 1 && p[0].ValueKind == JsonValueKind.String => p[0].GetString()!,
            JsonValueKind.Array => throw RequestFields.WrongValue("prompt", "only one prompt, as a string, per request is supported (no batches of prompts, no token ids)."),
            _ => throw RequestFields.WrongType("prompt", "a string", p),
        };
        var maxTokens = f.Int("max_tokens", 1);
        var (stream, usage) = Delivery(f);
        return new CompletionCall(Sampling(f, maxTokens) with { Prompt = prompt }, Chat: false, stream, usage);
    }

    /// n (1 only), stream, and stream_options.include_usage (a last chunk with the usage).
    static (bool Stream, bool IncludeUsage) Delivery(RequestFields f)
    {
        if (f.Int("n", 1) is int n && n != 1) throw RequestFields.WrongValue("n", $"only n=1 is supported, got {n}.");
        bool stream = f.Bool("stream", false);
        bool usage = false;
        if (f.Get("stream_options") is { } o)
        {
            if (o.ValueKind != JsonValueKind.Object) throw RequestFields.WrongType("stream_options", "an object", o);
            if (o.TryGetProperty("include_usage", out var u) && u.ValueKind is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
                throw RequestFields.WrongType("stream_options.include_usage", "a boolean", u);
            usage = o.TryGetProperty("include_usage", out var v) && v.ValueKind == JsonValueKind.True;
        }
        return (stream, usage);
    }

    static CompletionRequest Sampling(RequestFields f, int? maxTokens) => new()
    {
        Model = f.RequiredString("model"),
        MaxTokens = maxTokens,
        Temperature = f.Number("temperature", 0, 2) ?? 1.0,
        TopP = f.Number("top_p", 0, 1, minOpen: true) ?? 1.0,
        Seed = f.Long("seed"),
        Stop = f.Stop(),
        IgnoreEos = f.Bool("ignore_eos", false), // vLLM's extension, for fixed-length benchmarks
    };

    /// One message: role system/developer/user/assistant, content a string or text parts.
    static ChatMessage Message(JsonElement m, int i)
    {
        string at = $"messages[{i}]";
        if (m.ValueKind != JsonValueKind.Object) throw RequestFields.WrongType(at, "an object", m);
        if (!m.TryGetProperty("role", out var r) || r.ValueKind == JsonValueKind.Null) throw ServeRequestException.Invalid($"'{at}.role' is a required property.", $"{at}.role");
        if (r.ValueKind != JsonValueKind.String) throw RequestFields.WrongType($"{at}.role", "a string", r);
        var role = r.GetString() switch
        {
            ChatMessage.System or "developer" => ChatMessage.System,
            ChatMessage.User => ChatMessage.User,
            ChatMessage.Assistant => ChatMessage.Assistant,
            var other => throw RequestFields.WrongValue($"{at}.role", $"'{other}' is not one of 'system', 'developer', 'user', 'assistant'."),
        };
        if (!m.TryGetProperty("content", out var c) || c.ValueKind == JsonValueKind.Null) throw ServeRequestException.Invalid($"'{at}.content' is a required property.", $"{at}.content");
        string content = c.ValueKind switch
        {
            JsonValueKind.String => c.GetString()!,
            JsonValueKind.Array => string.Concat(c.EnumerateArray().Select((part, j) => TextPart(part, $"{at}.content[{j}]"))),
            _ => throw RequestFields.WrongType($"{at}.content", "a string or an array of text parts", c),
        };
        return new ChatMessage(role, content);
    }

    static string TextPart(JsonElement part, string at)
    {
        if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String)
            throw RequestFields.WrongType(at, "an object with a 'type'", part);
        if (t.GetString() != "text") throw RequestFields.WrongValue($"{at}.type", $"'{t.GetString()}' parts are not supported; only 'text'.");
        if (!part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String) throw ServeRequestException.Invalid($"'{at}.text' must be a string.", $"{at}.text");
        return text.GetString()!;
    }
}
