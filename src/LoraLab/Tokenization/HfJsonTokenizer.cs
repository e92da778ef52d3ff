using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LoraLab.Tokenization;

/// A Hugging Face `tokenizer.json` with a BPE model, reproducing the tokenizers library: byte-level BPE
/// (GPT-2, Llama 3, Qwen2) and SentencePiece-style BPE with byte fallback (Llama 2, Mistral, TinyLlama).
/// Pipeline per stretch of text between added tokens: normalizer → pre_tokenizer → BPE per word.
public sealed class HfJsonTokenizer : TokenizerBase
{
    readonly HfBpeModel _model;
    readonly Func<string, string>? _normalizer;
    readonly HfPreTokenizer? _preTokenizer;
    readonly byte[][] _tokenBytes;
    readonly bool _stripsLeadingSpace;
    readonly char? _chunkMarker;
    readonly char? _spaceMarker;
    readonly bool _byteFallbackDecode;
    readonly Dictionary<int, byte[]> _addedTokenBytes = [];

    public string SourcePath { get; }
    /// Whether tokens are spelled in GPT-2's byte-level alphabet.
    public bool IsByteLevel { get; }

    HfJsonTokenizer(string path, TokenizerSettings settings)
    {
        SourcePath = path;
        using var doc = TokenizerJson.Parse(path, Runtime.FileLimit.TokenizerJson);
        var root = doc.RootElement;
        var modelJson = TokenizerJson.Obj(root, "model") ?? throw new UserException($"{path}: no 'model' object");
        _model = new HfBpeModel(modelJson, path);
        _normalizer = root.TryGetProperty("normalizer", out var n) ? HfNormalizer.Build(n, path) : null;
        _preTokenizer = root.TryGetProperty("pre_tokenizer", out var p) ? HfPreTokenizer.Build(p, path) : null;

        var decoder = root.TryGetProperty("decoder", out var d) ? Flatten(d, "decoders").ToList() : [];
        IsByteLevel = (_preTokenizer?.IsByteLevel ?? false) || decoder.Any(x => TokenizerJson.Str(x, "type") == "ByteLevel");
        var spaceMarker = _spaceMarker = decoder.Select(SpaceMarker).FirstOrDefault(c => c != null);
        bool byteFallbackDecode = _byteFallbackDecode = decoder.Any(x => TokenizerJson.Str(x, "type") == "ByteFallback") || _model.ByteFallback;
        _stripsLeadingSpace = decoder.Any(StripsOneLeadingSpace);
        // ignore_merges looks words up whole, so cutting them could change the result.
        if (!IsByteLevel && !_model.IgnoresMerges && spaceMarker is char marker && SpaceMarkerChunks.IsSafe(_model.IdToToken.OfType<string>(), marker))
            _chunkMarker = marker;
        _tokenBytes = [.. _model.IdToToken.Select(t => TokenBytesOf(t ?? "", spaceMarker, byteFallbackDecode))];

        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var addedJson) && addedJson.ValueKind == JsonValueKind.Array)
            foreach (var a in addedJson.EnumerateArray())
                added.Add(TokenizerJson.ReadAddedToken(a, a.TryGetProperty("id", out var id) ? id.GetInt32()
                    : throw new UserException($"{path}: an added token has no 'id'"), path));

        // A TemplateProcessing post-processor names the tokens tokenizers adds around a single sequence.
        var (bos, eos) = root.TryGetProperty("post_processor", out var pp) ? TemplateSpecials(pp) : (null, null);
        Configure(added, settings, path, defaultBos: bos, defaultEos: eos, defaultPad: null,
            defaultAddBos: bos != null, defaultAddEos: eos != null);
        foreach (var t in AddedTokens) _addedTokenBytes[t.Id] = TokenBytesOf(t.Content, _spaceMarker, _byteFallbackDecode);
    }

    /// Loads `tokenizer.json`; `settings` (from tokenizer_config.json / config.json) override its defaults.
    public static HfJsonTokenizer Load(string tokenizerJsonPath, TokenizerSettings? settings = null)
    {
        if (!File.Exists(tokenizerJsonPath)) throw new UserException($"tokenizer.json not found: {tokenizerJsonPath}");
        return new HfJsonTokenizer(tokenizerJsonPath, settings ?? TokenizerSettings.None);
    }

    public override int BaseVocabSize => _model.IdToToken.Length;
    protected override bool StripsLeadingSpace => _stripsLeadingSpace;
    protected override ReadOnlySpan<byte> ModelTokenBytes(int id) => _tokenBytes[id];
    protected override int? ModelTokenToId(string token) => _model.TokenToId(token);
    // tokenizers runs added tokens through the decoder too (Replace "▁" → " ", byte-level alphabet, Strip).
    protected override byte[]? DecodedAddedToken(AddedToken token) => _addedTokenBytes[token.Id];

    protected override void EncodePlain(string text, bool atTextStart, List<int> output)
    {
        var normalized = _normalizer?.Invoke(text) ?? text;
        if (normalized.Length == 0) return;
        if (_preTokenizer is null) { EncodeWord(normalized, output); return; }
        var words = new List<string>();
        _preTokenizer.Split(normalized, atTextStart, words);
        foreach (var w in words) EncodeWord(w, output);
    }

    // Without a splitting pre-tokenizer BPE sees long stretches; cut them only where that provably changes nothing.
    void EncodeWord(string word, List<int> output)
    {
        if (_chunkMarker is not char marker) { _model.Encode(word, output); return; }
        foreach (var (start, length) in SpaceMarkerChunks.Split(word, marker))
            _model.Encode(length == word.Length ? word : word.Substring(start, length), output);
    }

    byte[] TokenBytesOf(string token, char? spaceMarker, bool byteFallback)
    {
        if (IsByteLevel) return ByteLevelAlphabet.Decode(token);
        if (byteFallback && token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
            return [b];
        return Encoding.UTF8.GetBytes(spaceMarker is char c ? token.Replace(c, ' ') : token);
    }

    static IEnumerable<JsonElement> Flatten(JsonElement e, string listName)
    {
        if (e.ValueKind != JsonValueKind.Object) yield break;
        if (TokenizerJson.Str(e, "type") == "Sequence" && e.TryGetProperty(listName, out var items))
        {
            foreach (var item in items.EnumerateArray())
                foreach (var x in Flatten(item, listName)) yield return x;
        }
        else yield return e;
    }

    // The character the decoder turns back into a space: Replace("▁" → " ") or Metaspace's replacement.
    static char? SpaceMarker(JsonElement d) => TokenizerJson.Str(d, "type") switch
    {
        "Metaspace" => TokenizerJson.Str(d, "replacement") is { Length: > 0 } r ? r[0] : '\u2581',
        "Replace" when TokenizerJson.Str(d, "content") == " " && TokenizerJson.Obj(d, "pattern") is { } pat
            && TokenizerJson.Str(pat, "String") is { Length: 1 } s => s[0],
        _ => null,
    };

    static bool StripsOneLeadingSpace(JsonElement d) => TokenizerJson.Str(d, "type") switch
    {
        "Strip" => TokenizerJson.Str(d, "content") == " " && d.TryGetProperty("start", out var start) && start.GetInt32() >= 1,
        "Metaspace" => (TokenizerJson.Str(d, "prepend_scheme") ?? (TokenizerJson.Bool(d, "add_prefix_space") == false ? "never" : "always")) != "never",
        _ => false,
    };

    static (int? Bos, int? Eos) TemplateSpecials(JsonElement pp)
    {
        foreach (var proc in Flatten(pp, "processors"))
        {
            if (TokenizerJson.Str(proc, "type") != "TemplateProcessing" || !proc.TryGetProperty("single", out var single)) continue;
            int? bos = null, eos = null;
            bool seenSequence = false;
            foreach (var piece in single.EnumerateArray())
            {
                if (piece.TryGetProperty("Sequence", out _)) { seenSequence = true; continue; }
                if (TokenizerJson.Obj(piece, "SpecialToken") is not { } st || TokenizerJson.Str(st, "id") is not { } name) continue;
                var id = SpecialId(proc, name);
                if (!seenSequence) bos ??= id; else eos ??= id;
            }
            return (bos, eos);
        }
        return (null, null);
    }

    static int? SpecialId(JsonElement proc, string name)
    {
        if (TokenizerJson.Obj(proc, "special_tokens") is { } map && TokenizerJson.Obj(map, name) is { } entry
            && entry.TryGetProperty("ids", out var ids) && ids.ValueKind == JsonValueKind.Array && ids.GetArrayLength() > 0)
            return ids[0].GetInt32();
        return null;
    }
}
