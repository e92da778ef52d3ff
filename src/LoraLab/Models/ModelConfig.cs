using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Models;

/// The architecture of a decoder-only Llama-family model, read from a Hugging Face config.json.
/// Field names follow HF so a reader can check them against the file.
public sealed record ModelConfig
{
    public static readonly string[] SupportedTypes = { "llama", "mistral", "qwen2" };

    public string ModelType { get; init; } = "llama";
    public int VocabSize { get; init; }
    public int HiddenSize { get; init; }
    public int IntermediateSize { get; init; }
    public int NumHiddenLayers { get; init; }
    public int NumAttentionHeads { get; init; }
    public int NumKeyValueHeads { get; init; }
    public int HeadDim { get; init; }
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000.0;
    public RopeScaling? RopeScaling { get; init; }
    public bool TieWordEmbeddings { get; init; }
    /// q/k/v projections carry a bias (qwen2 always; llama when attention_bias is true).
    public bool AttentionBias { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public int? BosTokenId { get; init; }
    public int? EosTokenId { get; init; }
    public string? TorchDtype { get; init; }
    /// `sliding_window` as the config gives it (Mistral; Qwen2 when use_sliding_window): a windowed layer's query sees
    /// the W most recent positions, itself included. A Mistral config without the key gets transformers' default, 4096.
    public int? SlidingWindow { get; init; }
    /// Qwen2's `use_sliding_window` and `max_window_layers` (windowed layers are those from that index on), and a
    /// config's explicit `layer_types` ("sliding_attention" / "full_attention" per layer); kept to be written back.
    public bool? UseSlidingWindow { get; init; }
    public int? MaxWindowLayers { get; init; }
    public IReadOnlyList<string>? LayerTypes { get; init; }

    /// The window of layer `layer`, or null when it attends to every earlier position (transformers' rule).
    public int? WindowOf(int layer)
    {
        if (SlidingWindow is not int w) return null;
        if (LayerTypes is { } types) return layer < types.Count && types[layer] == "sliding_attention" ? w : null;
        return ModelType switch
        {
            "mistral" => w,
            "qwen2" => UseSlidingWindow == true && layer >= (MaxWindowLayers ?? 28) ? w : null,
            _ => null,
        };
    }

    public int KvGroups => NumAttentionHeads / NumKeyValueHeads;

    public static ModelConfig Load(string path)
    {
        if (!File.Exists(path)) throw new UserException($"{path}: config.json not found");
        JsonNode? root;
        try { root = JsonNode.Parse(Runtime.BoundedFile.ReadText(path, Runtime.FileLimit.JsonConfig)); }
        catch (JsonException e) { throw new UserException($"{path}: not valid JSON ({e.Message})"); }
        if (root is not JsonObject obj) throw new UserException($"{path}: expected a JSON object");
        return FromJson(obj, path);
    }

    public static ModelConfig FromJson(JsonObject o, string source = "config.json")
    {
        string type = Str(o, "model_type") ?? throw new UserException($"{source}: missing field 'model_type'");
        if (!SupportedTypes.Contains(type))
            throw new UserException($"{source}: unsupported model_type '{type}' (supported: {string.Join(", ", SupportedTypes)})");
        var act = Str(o, "hidden_act") ?? "silu";
        if (act != "silu") throw new UserException($"{source}: unsupported hidden_act '{act}' (Llama-family models use silu)");

        int hidden = Req(o, "hidden_size", source), heads = Req(o, "num_attention_heads", source);
        int kv = Int(o, "num_key_value_heads") ?? heads;
        if (kv <= 0) throw new UserException($"{source}: num_key_value_heads must be a positive integer, got {kv}");
        if (heads % kv != 0) throw new UserException($"{source}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kv}");
        // Without head_dim the heads split hidden_size evenly; a remainder would surface later as a shape mismatch.
        if (Int(o, "head_dim") is null && hidden % heads != 0)
            throw new UserException($"{source}: hidden_size {hidden} is not divisible by num_attention_heads {heads} (and config.json gives no head_dim)");
        int headDim = Int(o, "head_dim") ?? hidden / heads;
        if (headDim <= 0 || headDim % 2 != 0)
            throw new UserException($"{source}: head_dim {headDim} must be a positive even number (rotary embeddings rotate pairs of dimensions)");
        return new ModelConfig
        {
            ModelType = type,
            VocabSize = Req(o, "vocab_size", source),
            HiddenSize = hidden,
            IntermediateSize = Req(o, "intermediate_size", source),
            NumHiddenLayers = Req(o, "num_hidden_layers", source),
            NumAttentionHeads = heads,
            NumKeyValueHeads = kv,
            HeadDim = headDim,
            RmsNormEps = Positive(Dbl(o, "rms_norm_eps") ?? 1e-6, "rms_norm_eps", source),
            RopeTheta = Positive(Dbl(o, "rope_theta") ?? 10000.0, "rope_theta", source),
            RopeScaling = o["rope_scaling"] is JsonObject rs ? RopeScaling.FromJson(rs, source) : null,
            TieWordEmbeddings = Bool(o, "tie_word_embeddings") ?? false, // LlamaConfig, MistralConfig and Qwen2Config all default to untied
            AttentionBias = type == "qwen2" || (Bool(o, "attention_bias") ?? false),
            MaxPositionEmbeddings = (int)Positive(Int(o, "max_position_embeddings") ?? 2048, "max_position_embeddings", source),
            BosTokenId = FirstInt(o["bos_token_id"]),
            EosTokenId = FirstInt(o["eos_token_id"]),
            TorchDtype = Str(o, "torch_dtype"),
            // Llama has no sliding window (LlamaConfig ignores the key).
            SlidingWindow = type switch { "mistral" when !o.ContainsKey("sliding_window") => 4096, "mistral" or "qwen2" => Window(o, source), _ => null },
            UseSlidingWindow = Bool(o, "use_sliding_window"),
            MaxWindowLayers = Int(o, "max_window_layers"),
            LayerTypes = o["layer_types"] is JsonArray lt ? lt.Select(x => x is JsonValue v && v.TryGetValue<string>(out var kind) ? kind : "full_attention").ToArray() : null,
        };
    }

    /// The config.json that Hugging Face transformers reads back for this architecture.
    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["architectures"] = new JsonArray(ModelType switch { "mistral" => "MistralForCausalLM", "qwen2" => "Qwen2ForCausalLM", _ => "LlamaForCausalLM" }),
            ["model_type"] = ModelType,
            ["hidden_act"] = "silu",
            ["vocab_size"] = VocabSize,
            ["hidden_size"] = HiddenSize,
            ["intermediate_size"] = IntermediateSize,
            ["num_hidden_layers"] = NumHiddenLayers,
            ["num_attention_heads"] = NumAttentionHeads,
            ["num_key_value_heads"] = NumKeyValueHeads,
            ["head_dim"] = HeadDim,
            ["rms_norm_eps"] = RmsNormEps,
            ["rope_theta"] = RopeTheta,
            ["tie_word_embeddings"] = TieWordEmbeddings,
            ["max_position_embeddings"] = MaxPositionEmbeddings,
            ["torch_dtype"] = TorchDtype ?? "float32",
        };
        if (ModelType == "llama") o["attention_bias"] = AttentionBias;
        if (BosTokenId is int b) o["bos_token_id"] = b;
        if (EosTokenId is int e) o["eos_token_id"] = e;
        if (RopeScaling is not null) o["rope_scaling"] = RopeScaling.ToJson();
        // Written back as read: a Mistral config without `sliding_window` would read back as transformers' 4096.
        if (ModelType == "mistral") o["sliding_window"] = SlidingWindow;
        if (ModelType == "qwen2")
        {
            o["use_sliding_window"] = UseSlidingWindow ?? false;
            o["sliding_window"] = SlidingWindow;
            if (MaxWindowLayers is int mw) o["max_window_layers"] = mw;
        }
        if (LayerTypes is not null) o["layer_types"] = new JsonArray(LayerTypes.Select(x => (JsonNode)JsonValue.Create(x)!).ToArray());
        return o;
    }

    static string? Str(JsonObject o, string k) => o[k] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
    static bool? Bool(JsonObject o, string k) => o[k] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;
    static double? Dbl(JsonObject o, string k) => o[k] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
    static int? Int(JsonObject o, string k) => o[k] is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;
    /// sliding_window: a positive integer or null.
    static int? Window(JsonObject o, string source)
    {
        if (o["sliding_window"] is null) return null;
        int? w = Int(o, "sliding_window");
        if (w is not > 0) throw new UserException($"{source}: sliding_window must be a positive integer or null, got {o["sliding_window"]!.ToJsonString()}");
        return w;
    }

    static double Positive(double value, string k, string source) =>
        double.IsFinite(value) && value > 0 ? value : throw new UserException($"{source}: {k} must be a positive number, got {value}");

    static int Req(JsonObject o, string k, string source) =>
        Int(o, k) is int i && i > 0 ? i : throw new UserException($"{source}: missing or invalid field '{k}'");
    static int? FirstInt(JsonNode? n) => n switch
    {
        JsonValue v when v.TryGetValue<int>(out var i) => i,
        JsonArray a when a.Count > 0 && a[0] is JsonValue v0 && v0.TryGetValue<int>(out var i0) => i0,
        _ => null,
    };
}

/// HF `rope_scaling`: `linear` (positions divided by factor) or `llama3` (frequency-dependent, Llama 3.1).
public sealed record RopeScaling(string Type, double Factor, double LowFreqFactor = 1, double HighFreqFactor = 4,
    int OriginalMaxPositionEmbeddings = 8192)
{
    public static RopeScaling? FromJson(JsonObject o, string source)
    {
        var type = (o["rope_type"] ?? o["type"])?.GetValue<string>() ?? "default";
        if (type == "default") return null;
        if (type != "linear" && type != "llama3")
            throw new UserException($"{source}: unsupported rope_scaling type '{type}' (supported: linear, llama3)");
        double F(string k, double d) => o[k] is JsonValue v && v.TryGetValue<double>(out var x) ? x : d;
        return new RopeScaling(type, F("factor", 1), F("low_freq_factor", 1), F("high_freq_factor", 4),
            (int)F("original_max_position_embeddings", 8192));
    }

    public JsonObject ToJson()
    {
        var o = new JsonObject { ["rope_type"] = Type, ["factor"] = Factor };
        if (Type == "llama3")
        {
            o["low_freq_factor"] = LowFreqFactor;
            o["high_freq_factor"] = HighFreqFactor;
            o["original_max_position_embeddings"] = OriginalMaxPositionEmbeddings;
        }
        return o;
    }
}
