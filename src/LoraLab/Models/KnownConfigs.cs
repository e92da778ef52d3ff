using System.Reflection;
using System.Text.Json.Nodes;

namespace LoraLab.Models;

/// Architectures known by name (`llama-2-7b`, `mistral-7b`, ..., and the benchmark sizes `tiny`/`small`/`medium`
/// of the PyTorch peer), so parameter counts and memory estimates need no download. Each is a Hugging Face
/// config.json embedded from `Models/KnownConfigs/`.
public static class KnownConfigs
{
    const string Prefix = "LoraLab.KnownConfigs.";
    static readonly Assembly Assembly = typeof(KnownConfigs).Assembly;

    /// The known names, sorted.
    public static IReadOnlyList<string> Names { get; } = Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix) && n.EndsWith(".json"))
        .Select(n => n[Prefix.Length..^".json".Length])
        .Order(StringComparer.Ordinal).ToArray();

    /// A known name (case-insensitive), a config.json path, a model folder holding one, or a Hugging Face Hub id
    /// (`org/name[@revision]`: its config.json alone is fetched).
    public static ModelConfig Resolve(string nameOrPath)
    {
        if (string.IsNullOrWhiteSpace(nameOrPath)) throw new UserException("--arch is required (a known name or a config.json path)");
        var known = Names.FirstOrDefault(n => string.Equals(n, nameOrPath, StringComparison.OrdinalIgnoreCase));
        if (known is not null) return Get(known);
        if (Directory.Exists(nameOrPath)) return ModelConfig.Load(Path.Combine(nameOrPath, "config.json"));
        if (File.Exists(nameOrPath)) return ModelConfig.Load(nameOrPath);
        if (Hub.ModelSource.ConfigOnly(nameOrPath) is { } hubConfig) return ModelConfig.Load(hubConfig);
        throw new UserException($"'{nameOrPath}' is neither a known config ({string.Join(", ", Names)}) nor an existing config.json path nor a Hugging Face Hub id (org/name)");
    }

    public static ModelConfig Get(string name)
    {
        using var stream = Assembly.GetManifestResourceStream(Prefix + name + ".json")
            ?? throw new UserException($"unknown config '{name}' (known: {string.Join(", ", Names)})");
        var obj = JsonNode.Parse(stream) as JsonObject ?? throw new InvalidOperationException($"embedded config '{name}' is not a JSON object");
        return ModelConfig.FromJson(obj, name);
    }
}
