using LoraLab.ModelFiles;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using LoraLab.Models;
using static TorchSharp.torch;

namespace LoraLab.Adapters;

/// Identifies the base model an adapter was trained on, cheaply enough to compute for a 7B checkpoint on every
/// load: the architecture fields of config.json, a SHA-256 of every tensor's name and shape, and a SHA-256 of a
/// fixed sample of weights (the first and last <see cref="SampleElements"/> values of a fixed set of tensors, read
/// as bfloat16). Sampling in bf16 makes an fp32 checkpoint and its bf16 copy agree, since both round to the same values.
public sealed record BaseFingerprint(IReadOnlyDictionary<string, string> Architecture, int Tensors, string ShapesSha256,
    string WeightsSha256, IReadOnlyList<string> SampledTensors)
{
    /// 2048 bf16 values = 4 KB from each end of each sampled tensor.
    public const int SampleElements = 2048;

    public static BaseFingerprint Compute(string modelDir)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        var cfg = ModelConfig.Load(Path.Combine(modelDir, "config.json"));
        using var files = CheckpointFiles.Open(modelDir);
        var names = files.Names.Where(n => !n.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();

        var shapes = new StringBuilder();
        foreach (var n in names) shapes.Append(n).Append(':').Append(string.Join(',', files.Info(n).Shape)).Append('\n');

        var sampled = SampleNames(cfg).Where(files.Contains).ToList();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var n in sampled)
        {
            long count = files.Info(n).Shape.Aggregate(1L, (a, b) => a * b);
            long take = Math.Min(SampleElements, count);
            hash.AppendData(Encoding.UTF8.GetBytes(n + "\n"));
            foreach (long start in new[] { 0, count - take })
            {
                using var raw = files.ReadRange(n, start, take);
                using var bf16 = raw.to(ScalarType.BFloat16);
                hash.AppendData(bf16.bytes);
            }
        }
        return new BaseFingerprint(ArchitectureOf(cfg), names.Count, Sha256(shapes.ToString()),
            Convert.ToHexStringLower(hash.GetHashAndReset()), sampled);
    }

    /// The fixed set: the embedding, the first and last decoder layers' projections, the final norm and the head.
    static IEnumerable<string> SampleNames(ModelConfig c)
    {
        yield return "model.embed_tokens.weight";
        yield return "model.layers.0.self_attn.q_proj.weight";
        yield return $"model.layers.{c.NumHiddenLayers - 1}.mlp.down_proj.weight";
        yield return "model.norm.weight";
        yield return "lm_head.weight";
    }

    static IReadOnlyDictionary<string, string> ArchitectureOf(ModelConfig c)
    {
        var inv = CultureInfo.InvariantCulture;
        return new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["model_type"] = c.ModelType,
            ["vocab_size"] = c.VocabSize.ToString(inv),
            ["hidden_size"] = c.HiddenSize.ToString(inv),
            ["intermediate_size"] = c.IntermediateSize.ToString(inv),
            ["num_hidden_layers"] = c.NumHiddenLayers.ToString(inv),
            ["num_attention_heads"] = c.NumAttentionHeads.ToString(inv),
            ["num_key_value_heads"] = c.NumKeyValueHeads.ToString(inv),
            ["head_dim"] = c.HeadDim.ToString(inv),
            ["tie_word_embeddings"] = c.TieWordEmbeddings ? "true" : "false",
            ["rope_theta"] = c.RopeTheta.ToString("R", inv),
        };
    }

    static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// How this (recorded) fingerprint compares with another (the base being loaded now).
    public FingerprintComparison CompareTo(BaseFingerprint actual)
    {
        var archDiffs = Architecture.Keys.Union(actual.Architecture.Keys).Order(StringComparer.Ordinal)
            .Where(k => Architecture.GetValueOrDefault(k) != actual.Architecture.GetValueOrDefault(k))
            .Select(k => $"{k} {Architecture.GetValueOrDefault(k) ?? "-"} vs {actual.Architecture.GetValueOrDefault(k) ?? "-"}")
            .ToList();
        return new FingerprintComparison(archDiffs, ShapesSha256 == actual.ShapesSha256 && Tensors == actual.Tensors,
            WeightsSha256 == actual.WeightsSha256);
    }

    public JsonObject ToJson()
    {
        var arch = new JsonObject();
        foreach (var (k, v) in Architecture) arch[k] = v;
        return new JsonObject
        {
            ["architecture"] = arch,
            ["tensors"] = Tensors,
            ["shapes_sha256"] = ShapesSha256,
            ["weights_sha256"] = WeightsSha256,
            ["weights_sample"] = $"first and last {SampleElements} values as bfloat16",
            ["sampled_tensors"] = new JsonArray(SampledTensors.Select(s => (JsonNode)s!).ToArray()),
        };
    }

    public static BaseFingerprint FromJson(JsonObject o, string source)
    {
        if (o["architecture"] is not JsonObject arch) throw new UserException($"{source}: base_fingerprint needs an 'architecture' object");
        var fields = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in arch)
            fields[k] = v is JsonValue jv && jv.TryGetValue<string>(out var s) ? s
                : throw new UserException($"{source}: base_fingerprint.architecture.{k} must be a string");
        int tensors = o["tensors"] is JsonValue t && t.TryGetValue<int>(out var n) ? n
            : throw new UserException($"{source}: base_fingerprint.tensors must be an integer");
        string Str(string key) => o[key] is JsonValue v && v.TryGetValue<string>(out var x) ? x
            : throw new UserException($"{source}: base_fingerprint.{key} must be a string");
        var sampled = o["sampled_tensors"] is JsonArray a ? a.Select(x => x?.GetValue<string>() ?? "").ToArray() : Array.Empty<string>();
        return new BaseFingerprint(fields, tensors, Str("shapes_sha256"), Str("weights_sha256"), sampled);
    }
}

/// Which parts of two base fingerprints agree.
public sealed record FingerprintComparison(IReadOnlyList<string> ArchitectureDifferences, bool ShapesMatch, bool WeightsMatch)
{
    public bool ArchitectureMatches => ArchitectureDifferences.Count == 0;
    public bool Matches => ArchitectureMatches && ShapesMatch && WeightsMatch;

    /// One phrase for a warning: the most telling difference first.
    public string Describe() =>
        !ArchitectureMatches ? $"architecture differs ({string.Join(", ", ArchitectureDifferences)})"
        : !ShapesMatch ? "tensor names or shapes differ"
        : !WeightsMatch ? "same architecture and shapes, but the sampled weights differ (another checkpoint or fine-tune of it)"
        : "matches";
}
