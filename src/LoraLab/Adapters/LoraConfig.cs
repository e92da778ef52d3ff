using System.Text.RegularExpressions;

namespace LoraLab.Adapters;

/// What LoRA adapts and how, in PEFT's vocabulary (the fields of PEFT's `LoraConfig` / adapter_config.json).
/// Module paths are the base model's, e.g. `model.layers.3.self_attn.q_proj` or `lm_head`.
public sealed record LoraConfig
{
    /// Rank r of A (r, in) and B (out, r), unless <see cref="RankPattern"/> overrides it for a module.
    public int R { get; init; } = 8;
    /// lora_alpha: the update is scaled by alpha / r (alpha / sqrt(r) with <see cref="UseRslora"/>).
    public double Alpha { get; init; } = 16;
    /// Dropout on the adapter's input, active in training mode only.
    public double Dropout { get; init; }
    /// Short module names (`q_proj`, ..., `lm_head`) or dotted suffixes; a module matches when its path equals one
    /// or ends with "." + one. Ignored when <see cref="TargetRegex"/> is set.
    public IReadOnlyList<string> TargetModules { get; init; } = LoraTargets.Presets["qv"];
    /// PEFT's string form of target_modules: a regex that must match the whole module path.
    public string? TargetRegex { get; init; }
    /// Also adapt lm_head (`--lora-head`), whatever the other targets say.
    public bool LoraHead { get; init; }
    /// Rank-stabilised LoRA (Kalajdzievski 2023, arXiv:2312.03732): scale by alpha / sqrt(r).
    public bool UseRslora { get; init; }
    /// Per-module rank: the first key that matches the module path wins (PEFT: the key is a regex matched
    /// against a dotted suffix of the path). A key made only of digits selects a layer index.
    public IReadOnlyDictionary<string, int> RankPattern { get; init; } = new Dictionary<string, int>();
    /// Per-module alpha, matched like <see cref="RankPattern"/>.
    public IReadOnlyDictionary<string, double> AlphaPattern { get; init; } = new Dictionary<string, double>();
    /// Only these layer indexes are adapted (null = all). lm_head has no layer index, so it is then left out, as in PEFT.
    public IReadOnlyList<int>? LayersToTransform { get; init; }
    public LoraInit Init { get; init; } = LoraInit.Kaiming;
    /// Subspace iterations of the randomized SVD of <see cref="LoraInit.PissaFast"/> (PEFT's `pissa_niter_N`).
    public int PissaIterations { get; init; } = DefaultPissaIterations;
    /// 16: PEFT's documentation's example (`pissa_niter_16`), seconds for a 7B model where the full SVD takes minutes.
    public const int DefaultPissaIterations = 16;
    /// DoRA (Liu et al. 2024, arXiv:2402.09353; PEFT's `use_dora`): each adapted module also trains a magnitude per
    /// output row (`lora_magnitude_vector`) that rescales the row-normalised W + s·B·A.
    public bool UseDora { get; init; }
    /// Recorded in adapter_config.json so the adapter names its base.
    public string? BaseModelNameOrPath { get; init; }
    /// The base's Hub revision when it is not `main` (PEFT's `revision`), so the adapter names the exact base.
    public string? Revision { get; init; }

    /// Throws a UserException naming the first invalid field.
    public void Validate(string source = "LoRA config")
    {
        if (R < 1) throw new UserException($"{source}: r must be at least 1 (got {R})");
        if (!(Alpha > 0) || double.IsInfinity(Alpha)) throw new UserException($"{source}: lora_alpha must be a positive number (got {Alpha})");
        if (!(Dropout >= 0 && Dropout < 1)) throw new UserException($"{source}: lora_dropout must be in [0, 1) (got {Dropout})");
        foreach (var (k, v) in RankPattern)
            if (v < 1) throw new UserException($"{source}: rank_pattern['{k}'] must be at least 1 (got {v})");
        foreach (var (k, v) in AlphaPattern)
            if (!(v > 0)) throw new UserException($"{source}: alpha_pattern['{k}'] must be positive (got {v})");
        foreach (var key in RankPattern.Keys.Concat(AlphaPattern.Keys)) PatternRegex(key, source);
        if (TargetRegex is not null)
        {
            try { _ = new Regex(TargetRegex); }
            catch (ArgumentException e) { throw new UserException($"{source}: target_modules is not a valid regex ({e.Message})"); }
        }
        else LoraTargets.Validate(TargetModules, source);
        if (PissaIterations < 1) throw new UserException($"{source}: pissa_niter_N needs N ≥ 1 (got {PissaIterations})");
        if (UseDora && Init.ChangesBase())
            throw new UserException($"{source}: use_dora with init_lora_weights {PeftConfigJson.InitName(this)}: a DoRA adapter over a residual base cannot be converted back to the original base; use one or the other");
        if (LayersToTransform is { } layers && layers.Any(l => l < 0))
            throw new UserException($"{source}: layers_to_transform must hold non-negative layer indexes");
    }

    /// Whether the module at `path` (in decoder layer `layer`, -1 for lm_head) gets an adapter.
    public bool Targets(string path, int layer)
    {
        bool named = TargetRegex is not null
            ? Regex.IsMatch(path, $"^(?:{TargetRegex})$")
            : TargetModules.Any(t => path == t || path.EndsWith("." + t, StringComparison.Ordinal));
        named |= LoraHead && path == "lm_head";
        if (!named) return false;
        return LayersToTransform is null || (layer >= 0 && LayersToTransform.Contains(layer));
    }

    /// Whether lm_head is asked for explicitly (by <see cref="LoraHead"/> or by name; a regex merely may match it).
    public bool NamesHead => LoraHead || (TargetRegex is null && TargetModules.Any(t => t.Split('.')[^1] == "lm_head"));

    public int RankFor(string path, int layer) => Find(RankPattern, path, layer, out var r) ? r : R;

    public double AlphaFor(string path, int layer) => Find(AlphaPattern, path, layer, out var a) ? a : Alpha;

    public double ScalingFor(int r, double alpha) => UseRslora ? alpha / Math.Sqrt(r) : alpha / r;

    /// The PEFT-compatible form of a pattern key: a layer index N becomes the regex `layers\.N\..*`.
    public static string PeftKey(string key) => IsLayerIndex(key) ? $@"layers\.{key}\..*" : key;

    static bool Find<T>(IReadOnlyDictionary<string, T> pattern, string path, int layer, out T value)
    {
        foreach (var (key, v) in pattern)
        {
            bool hit = IsLayerIndex(key) ? layer == int.Parse(key) : PatternRegex(key, "LoRA config").IsMatch(path);
            if (hit) { value = v; return true; }
        }
        value = default!;
        return false;
    }

    static bool IsLayerIndex(string key) => key.Length > 0 && key.All(char.IsAsciiDigit);

    // PEFT's rule: re.match(rf"(.*\.)?({key})$", path), i.e. the key matches a dot-aligned suffix of the path.
    static Regex PatternRegex(string key, string source)
    {
        try { return new Regex($@"^(?:.*\.)?(?:{key})$"); }
        catch (ArgumentException e) { throw new UserException($"{source}: pattern key '{key}' is not a valid regex ({e.Message})"); }
    }
}
