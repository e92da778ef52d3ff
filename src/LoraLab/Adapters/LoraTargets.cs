using LoraLab.Models;

namespace LoraLab.Adapters;

/// Target module names and presets: `--targets qv`, `--targets q_proj,k_proj`, `--targets attn,mlp --lora-head`.
public static class LoraTargets
{
    /// Every projection LoRA can wrap, by its short (HF) name.
    public static readonly IReadOnlyList<string> Modules =
        ModelShapes.LayerProjections.Select(p => p.Split('.')[1]).Append("lm_head").ToArray();

    public static readonly IReadOnlyDictionary<string, string[]> Presets = new Dictionary<string, string[]>
    {
        ["kv"] = new[] { "k_proj", "v_proj" },
        ["qv"] = new[] { "q_proj", "v_proj" },
        ["attn"] = new[] { "q_proj", "k_proj", "v_proj", "o_proj" },
        ["mlp"] = new[] { "gate_proj", "up_proj", "down_proj" },
        ["all"] = ModelShapes.LayerProjections.Select(p => p.Split('.')[1]).ToArray(),
    };

    /// Comma-separated module names and presets → sorted distinct short names; `includeHead` adds lm_head.
    public static IReadOnlyList<string> Parse(string spec, bool includeHead = false)
    {
        var result = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var raw in spec.Split(new[] { ',', ' ' }, StringSplitOptions.RemoveEmptyEntries))
        {
            var name = raw.Trim().ToLowerInvariant();
            if (Presets.TryGetValue(name, out var preset)) result.UnionWith(preset);
            else if (Modules.Contains(name)) result.Add(name);
            else throw Unknown(raw);
        }
        if (includeHead) result.Add("lm_head");
        if (result.Count == 0) throw new UserException($"no LoRA targets given; {Available}");
        return result.ToArray();
    }

    /// Checks names written in a config or adapter file (PEFT also allows a dotted suffix like `self_attn.q_proj`).
    public static void Validate(IEnumerable<string> targets, string source)
    {
        foreach (var t in targets)
            if (!Modules.Contains(t.Split('.')[^1])) throw Unknown(t, source);
    }

    public static string Available =>
        $"available modules: {string.Join(", ", Modules)}; presets: {string.Join(", ", Presets.Keys)}";

    static UserException Unknown(string name, string? source = null) =>
        new($"{(source is null ? "" : source + ": ")}unknown LoRA target '{name}' ({Available})");
}
