using System.Text.Json;

namespace LoraLab.Tokenization;

/// What a model folder's `tokenizer_config.json` and `config.json` say about special tokens and templates.
/// Null means "not stated": the tokenizer file's own defaults then apply.
public sealed record TokenizerSettings
{
    public bool? AddBosToken { get; init; }
    public bool? AddEosToken { get; init; }
    public string? BosToken { get; init; }
    public string? EosToken { get; init; }
    public string? PadToken { get; init; }
    /// From config.json; the first entry where the file lists several.
    public int? BosTokenId { get; init; }
    public int? EosTokenId { get; init; }
    public int? PadTokenId { get; init; }
    public string? ChatTemplate { get; init; }
    /// `added_tokens_decoder` of tokenizer_config.json: tokens a SentencePiece model file does not hold.
    public IReadOnlyList<AddedToken> AddedTokens { get; init; } = [];

    public static readonly TokenizerSettings None = new();

    /// Reads the settings of a Hugging Face model folder; absent files give an empty record.
    public static TokenizerSettings Read(string modelDir)
    {
        var settings = new TokenizerSettings();
        var tokenizerConfig = Path.Combine(modelDir, "tokenizer_config.json");
        if (File.Exists(tokenizerConfig))
        {
            using var doc = TokenizerJson.Parse(tokenizerConfig, Runtime.FileLimit.JsonConfig);
            var root = doc.RootElement;
            settings = settings with
            {
                AddBosToken = TokenizerJson.Bool(root, "add_bos_token"),
                AddEosToken = TokenizerJson.Bool(root, "add_eos_token"),
                BosToken = TokenContent(root, "bos_token"),
                EosToken = TokenContent(root, "eos_token"),
                PadToken = TokenContent(root, "pad_token"),
                ChatTemplate = ChatTemplateOf(root),
                AddedTokens = AddedTokensDecoder(root, tokenizerConfig),
            };
        }
        var jinja = Path.Combine(modelDir, "chat_template.jinja");
        if (settings.ChatTemplate is null && File.Exists(jinja)) settings = settings with { ChatTemplate = Runtime.BoundedFile.ReadText(jinja, Runtime.FileLimit.ChatTemplate) };

        var config = Path.Combine(modelDir, "config.json");
        if (File.Exists(config))
        {
            using var doc = TokenizerJson.Parse(config, Runtime.FileLimit.JsonConfig);
            var root = doc.RootElement;
            settings = settings with
            {
                BosTokenId = FirstId(root, "bos_token_id", config),
                EosTokenId = FirstId(root, "eos_token_id", config),
                PadTokenId = FirstId(root, "pad_token_id", config),
            };
        }
        return settings;
    }

    // Token fields are either a string or an AddedToken object {"content": ...}.
    static string? TokenContent(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object => TokenizerJson.Str(v, "content"),
            _ => null,
        } : null;

    // A string, or (newer transformers) a list of named templates of which "default" is the one applied.
    static string? ChatTemplateOf(JsonElement root)
    {
        if (!root.TryGetProperty("chat_template", out var v)) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        if (v.ValueKind != JsonValueKind.Array) return null;
        var named = v.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object).ToList();
        var chosen = named.FirstOrDefault(e => TokenizerJson.Str(e, "name") == "default");
        if (chosen.ValueKind == JsonValueKind.Undefined && named.Count > 0) chosen = named[0];
        return chosen.ValueKind == JsonValueKind.Object ? TokenizerJson.Str(chosen, "template") : null;
    }

    static List<AddedToken> AddedTokensDecoder(JsonElement root, string file)
    {
        var result = new List<AddedToken>();
        if (!root.TryGetProperty("added_tokens_decoder", out var decoder) || decoder.ValueKind != JsonValueKind.Object) return result;
        foreach (var p in decoder.EnumerateObject())
        {
            if (!int.TryParse(p.Name, out var id))
                throw new UserException($"{file}: added_tokens_decoder key '{p.Name}' is not a token id");
            result.Add(TokenizerJson.ReadAddedToken(p.Value, id, file));
        }
        return result;
    }

    static int? FirstId(JsonElement root, string name, string file)
    {
        if (!root.TryGetProperty(name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Array) v = v.EnumerateArray().FirstOrDefault();
        return v.ValueKind switch
        {
            JsonValueKind.Number when v.TryGetInt32(out var id) => id,
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => throw new UserException($"{file}: {name} must be a token id or a list of them, not {v}"),
        };
    }
}
