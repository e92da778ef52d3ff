using System.Text.RegularExpressions;
using LoraLab.ModelFiles;
using System.Text.Json;
using System.Text.Json.Nodes;
using LoraLab.Models;
using static TorchSharp.torch;

namespace LoraLab.Adapters;

/// Hugging Face PEFT's on-disk LoRA adapter, both ways: `adapter_config.json` and `adapter_model.safetensors`
/// with keys `base_model.model.<module path>.lora_A.weight` / `.lora_B.weight` (and DoRA's `.lora_magnitude_vector`).
public static class PeftFormat
{
    public const string ConfigFile = "adapter_config.json";
    public const string WeightsFile = "adapter_model.safetensors";
    internal const string KeyPrefix = "base_model.model.";

    /// Writes the model's adapters and their config to `dir` (created if needed). Each file is written to a
    /// temporary name and renamed, so a crash never leaves a half-written adapter under the real names.
    /// Adapters initialised from their base (PiSSA, OLoRA) are saved converted, as PEFT's
    /// `path_initial_model_for_weight_conversion` converts them, so that they apply to the original base:
    /// W_res + s·B·A = W + s·(B·A − B₀·A₀) = W + s·[B, −B₀]·[A; A₀], an adapter of rank 2r with alpha doubled (√2 × alpha
    /// with rsLoRA) so that s is unchanged.
    public static void Save(string dir, CausalLM model, LoraConfig loraConfig, string? baseModelPath = null)
    {
        var adapters = LoraInjector.Adapters(model);
        if (adapters.Count == 0) throw new InvalidOperationException("the model has no LoRA adapters to save");
        Directory.CreateDirectory(dir);
        using var scope = NewDisposeScope(); // the converted factors
        var tensors = adapters.SelectMany(a => new (string, Tensor)[]
        {
            (KeyPrefix + a.Path + ".lora_A.weight", a.Initial is var (a0, _) ? cat([a.lora_A.weight!.detach(), a0], 0) : a.lora_A.weight!),
            (KeyPrefix + a.Path + ".lora_B.weight", a.Initial is var (_, b0) ? cat([a.lora_B.weight!.detach(), b0.neg()], 1) : a.lora_B.weight!),
        }.Concat(a.Dora is { } d ? [(KeyPrefix + a.Path + "." + Magnitude, d.Weight)] : []));
        SafeTensorsWriter.Save(Path.Combine(dir, WeightsFile), tensors);
        var cfg = (adapters.Any(a => a.Initial is not null) ? ConvertedToOriginalBase(loraConfig) : loraConfig)
            with { BaseModelNameOrPath = baseModelPath ?? loraConfig.BaseModelNameOrPath };
        var json = PeftConfigJson.ToJson(cfg).ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        IO.AtomicFile.WriteAllText(Path.Combine(dir, ConfigFile), json);
    }

    /// Reads the adapter in `dir`, checks it against the model (every tensor's module, rank and shape) before
    /// touching the model, then attaches it. Accepts PEFT's saved keys and older state-dict keys with `.default.`.
    public static LoraConfig Load(string dir, CausalLM model)
    {
        if (LoraInjector.Adapters(model).Count > 0) throw new UserException($"{dir}: the model already carries a LoRA adapter; load one adapter per model");
        using var weights = Read(dir, model);
        LoraInjector.Apply(model, weights.Config, seed: 0);
        using var _ = no_grad();
        var adapters = LoraInjector.Adapters(model).ToDictionary(a => a.Path);
        foreach (var (site, a, b, m) in weights.Modules)
        {
            adapters[site.Path].lora_A.weight!.copy_(a);
            adapters[site.Path].lora_B.weight!.copy_(b);
            if (m is not null) adapters[site.Path].Dora!.Weight.copy_(m);
        }
        return weights.Config;
    }

    /// The adapter in `dir` read into float32 tensors and checked against the model (every tensor's module, rank
    /// and shape, no NaN/Inf), without touching the model: for loading it, or for serving it beside others.
    public static AdapterWeights Read(string dir, CausalLM model)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        var cfg = ReadConfig(dir);
        string weightsPath = Path.Combine(dir, WeightsFile);
        if (!File.Exists(weightsPath))
            throw new UserException(File.Exists(Path.Combine(dir, "adapter_model.bin"))
                ? $"{dir}: only adapter_model.bin (pickle) found; it is refused because loading pickle can run arbitrary code. Re-save the adapter with safetensors (PEFT's default)."
                : $"{dir}: {WeightsFile} not found");

        using var file = SafeTensorsFile.Open(weightsPath);
        var keys = MapKeys(file, weightsPath);
        var byPath = model.Projections().ToDictionary(p => p.Path, p => p.Projection);
        foreach (var (key, (path, _)) in keys)
            if (!byPath.ContainsKey(path))
                throw new UserException($"{weightsPath}: tensor '{key}' is for module '{path}', which the base model does not have ({model.Config.NumHiddenLayers} layers{(model.lm_head is null ? ", tied lm_head" : "")})");
        if (cfg.TargetRegex is null && cfg.TargetModules.Count == 0)
            cfg = cfg with { TargetModules = keys.Values.Select(k => k.Path.Split('.')[^1]).Distinct().Order(StringComparer.Ordinal).ToArray() };

        var sites = LoraSite.Plan(model.Config, cfg, $"{Path.Combine(dir, ConfigFile)}: r").ToDictionary(s => s.Path);
        CheckTensors(file, keys, sites, weightsPath);

        var read = new Dictionary<(string, string), Tensor>();
        try
        {
            foreach (var (key, (path, part)) in keys)
            {
                var t = file.Read(key, LoraAdapter.Dtype);
                read[(path, part)] = t;
                NonFinite.Check(t, weightsPath, key);
            }
            // in the model's order, as LoraSite.Plan lists the sites
            var modules = sites.Values.Select(s => (s, read[(s.Path, "lora_A")], read[(s.Path, "lora_B")],
                s.Dora ? read[(s.Path, Magnitude)] : null)).ToArray();
            return new AdapterWeights(cfg, modules);
        }
        catch
        {
            foreach (var t in read.Values) t.Dispose();
            throw;
        }
    }

    /// Copies the adapter weights in `dir` into the adapters the model already carries (resuming a run):
    /// every saved tensor must match an attached adapter's shape, and every attached adapter must be saved.
    public static void LoadInto(string dir, CausalLM model)
    {
        string weightsPath = Path.Combine(dir, WeightsFile);
        if (!File.Exists(weightsPath)) throw new UserException($"{dir}: {WeightsFile} not found");
        using var file = SafeTensorsFile.Open(weightsPath);
        var keys = MapKeys(file, weightsPath);
        var adapters = LoraInjector.Adapters(model).ToDictionary(a => a.Path);
        var seen = new HashSet<string>();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var converted = new Dictionary<(string, string), Tensor>(); // saved [A; A₀] and [B, −B₀] of adapters initialised from their base
        foreach (var (key, (path, part)) in keys)
        {
            if (!adapters.TryGetValue(path, out var a))
                throw new UserException($"{weightsPath}: tensor '{key}' has no matching adapter in this run (different --targets?)");
            var target = part == "lora_A" ? a.lora_A.weight! : part == "lora_B" ? a.lora_B.weight!
                : a.Dora?.Weight ?? throw new UserException($"{weightsPath}: tensor '{key}' is a DoRA magnitude, but this run's adapters are plain LoRA (--dora not given)");
            var info = file.Info(key);
            bool halves = a.Initial is not null && part != Magnitude;
            var expected = target.shape.ToArray();
            if (halves) expected[part == "lora_A" ? 0 : 1] *= 2;
            if (!info.Shape.SequenceEqual(expected))
                throw new UserException($"{weightsPath}: tensor '{key}' has shape [{string.Join(", ", info.Shape)}], this run's adapter has [{string.Join(", ", expected)}] (different --r or --init?)");
            var t = file.Read(key, LoraAdapter.Dtype);
            NonFinite.Check(t, weightsPath, key);
            if (halves) converted[(path, part)] = t;
            else target.copy_(t);
            seen.Add(path + "." + part);
        }
        // a converted checkpoint holds the trained A, B in its first halves and the start A₀, −B₀ in its second
        foreach (var a in adapters.Values.Where(a => a.Initial is not null))
        {
            if (!converted.TryGetValue((a.Path, "lora_A"), out var ca) || !converted.TryGetValue((a.Path, "lora_B"), out var cb)) continue;
            a.RestartFrom(ca.narrow(0, a.R, a.R), cb.narrow(1, a.R, a.R).neg());
            a.lora_A.weight!.copy_(ca.narrow(0, 0, a.R));
            a.lora_B.weight!.copy_(cb.narrow(1, 0, a.R));
        }
        var missing = adapters.Values.SelectMany(a => Parts(a.Dora is not null).Select(part => a.Path + "." + part)).FirstOrDefault(k => !seen.Contains(k));
        if (missing is not null) throw new UserException($"{weightsPath}: no saved weights for '{missing}'");
    }

    /// The config of an adapter converted to the original base: every rank doubled, alpha doubled (√2 × with rsLoRA,
    /// whose s is alpha/√r) so each module's s is unchanged, and the default init (the base is the original).
    public static LoraConfig ConvertedToOriginalBase(LoraConfig c)
    {
        double f = c.UseRslora ? Math.Sqrt(2) : 2;
        return c with
        {
            R = 2 * c.R, Alpha = f * c.Alpha, Init = LoraInit.Kaiming, PissaIterations = LoraConfig.DefaultPissaIterations,
            RankPattern = c.RankPattern.ToDictionary(kv => kv.Key, kv => 2 * kv.Value),
            AlphaPattern = c.AlphaPattern.ToDictionary(kv => kv.Key, kv => f * kv.Value),
        };
    }

    /// The LoRA config in `dir`/adapter_config.json.
    public static LoraConfig ReadConfig(string dir)
    {
        if (!Directory.Exists(dir)) throw new UserException($"{dir}: adapter folder not found");
        string path = Path.Combine(dir, ConfigFile);
        if (!File.Exists(path)) throw new UserException($"{dir}: {ConfigFile} not found (not a PEFT adapter folder)");
        JsonNode? root;
        try { root = JsonNode.Parse(Runtime.BoundedFile.ReadText(path, Runtime.FileLimit.JsonConfig)); }
        catch (JsonException e) { throw new UserException($"{path}: not valid JSON ({e.Message})"); }
        if (root is not JsonObject obj) throw new UserException($"{path}: expected a JSON object");
        var cfg = PeftConfigJson.FromJson(obj, path);
        cfg.Validate(path);
        return cfg;
    }

    /// DoRA's magnitude vector: the part name, and the key suffix PEFT saves it under.
    public const string Magnitude = LoraAdapter.MagnitudeName;

    /// The tensors an adapted module has in a file: A and B, and the magnitude for DoRA.
    internal static string[] Parts(bool dora) => dora ? ["lora_A", "lora_B", Magnitude] : ["lora_A", "lora_B"];

    /// File key → (module path, "lora_A" | "lora_B" | "lora_magnitude_vector"), refusing tensors that are not LoRA or
    /// DoRA weights. PEFT saves the magnitude as `.lora_magnitude_vector`; in-memory state dicts add `.default` and `.weight`.
    internal static Dictionary<string, (string Path, string Part)> MapKeys(SafeTensorsFile file, string source)
    {
        var result = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in file.Names)
        {
            var k = key.StartsWith(KeyPrefix, StringComparison.Ordinal) ? key[KeyPrefix.Length..] : key;
            k = k.Replace(".lora_A.default.weight", ".lora_A.weight").Replace(".lora_B.default.weight", ".lora_B.weight");
            foreach (var tail in new[] { ".default.weight", ".default", ".weight" })
                if (k.EndsWith("." + Magnitude + tail, StringComparison.Ordinal)) { k = k[..^tail.Length]; break; }
            string part = k.EndsWith(".lora_A.weight", StringComparison.Ordinal) ? "lora_A"
                : k.EndsWith(".lora_B.weight", StringComparison.Ordinal) ? "lora_B"
                : k.EndsWith("." + Magnitude, StringComparison.Ordinal) ? Magnitude
                : throw new UserException($"{source}: tensor '{key}' is not a LoRA A/B weight or DoRA magnitude (embedding adapters and biases are not supported)");
            var path = k[..^(part == Magnitude ? Magnitude.Length + 1 : ".lora_A.weight".Length)];
            if (!seen.Add(path + "/" + part)) throw new UserException($"{source}: tensor '{key}' duplicates another key for module '{path}'");
            result[key] = (path, part);
        }
        if (result.Count == 0) throw new UserException($"{source}: no tensors");
        return result;
    }

    static void CheckTensors(SafeTensorsFile file, Dictionary<string, (string Path, string Part)> keys, Dictionary<string, LoraSite> sites, string source)
    {
        foreach (var (key, (path, part)) in keys)
        {
            if (!sites.TryGetValue(path, out var site))
                throw new UserException($"{source}: tensor '{key}' is for module '{path}', which adapter_config.json's targets do not select");
            if (part == Magnitude && !site.Dora)
                throw new UserException($"{source}: tensor '{key}' is a DoRA magnitude, but adapter_config.json has no use_dora: true");
            long[] expected = part == "lora_A" ? new[] { (long)site.R, site.InFeatures } : part == "lora_B" ? new[] { site.OutFeatures, (long)site.R } : new[] { site.OutFeatures };
            var shape = file.Info(key).Shape;
            if (!shape.SequenceEqual(expected))
                throw new UserException($"{source}: tensor '{key}' has shape [{string.Join(", ", shape)}]; module '{path}' " +
                    $"({site.InFeatures} → {site.OutFeatures}) with r={site.R} needs [{string.Join(", ", expected)}]");
        }
        var present = keys.Values.ToHashSet();
        foreach (var site in sites.Values)
            foreach (var part in Parts(site.Dora))
                if (!present.Contains((site.Path, part)))
                    throw new UserException($"{source}: missing tensor '{KeyPrefix}{site.Path}.{part}{(part == Magnitude ? "" : ".weight")}' (adapter_config.json's targets select module '{site.Path}'{(part == Magnitude ? " and use_dora is true" : "")})");
    }

    /// A module's key in rank_pattern/alpha_pattern: its escaped path without the leading `model.`, which every PEFT
    /// release matches (older ones require a dot before the key: `.*\.{key}$`), as does LoraConfig's own matching.
    /// `lm_head` has no dot before it, so writers give it the adapter's `r` instead of a pattern entry where they can.
    public static string PatternKey(string modulePath) =>
        Regex.Escape(modulePath.StartsWith("model.", StringComparison.Ordinal) ? modulePath["model.".Length..] : modulePath);
}
