using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Adapters;

/// <see cref="LoraConfig"/> ↔ PEFT's adapter_config.json. Writes only fields that PEFT releases since 0.9 all
/// accept (newer-only fields make older PEFT refuse the file); reads what any PEFT version writes.
public static class PeftConfigJson
{
    public static JsonObject ToJson(LoraConfig c)
    {
        JsonNode? targets = c.TargetRegex is not null
            ? JsonValue.Create(c.LoraHead ? $"(?:{c.TargetRegex})|lm_head" : c.TargetRegex)
            : new JsonArray(c.TargetModules.Concat(c.LoraHead ? new[] { "lm_head" } : Array.Empty<string>()).Distinct().Order(StringComparer.Ordinal).Select(t => (JsonNode?)JsonValue.Create(t)).ToArray());
        var ranks = new JsonObject();
        foreach (var (k, v) in c.RankPattern) ranks[LoraConfig.PeftKey(k)] = v;
        var alphas = new JsonObject();
        foreach (var (k, v) in c.AlphaPattern) alphas[LoraConfig.PeftKey(k)] = Number(v);
        return new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = c.BaseModelNameOrPath,
            ["revision"] = c.Revision,
            ["r"] = c.R,
            ["lora_alpha"] = Number(c.Alpha),
            ["lora_dropout"] = c.Dropout,
            ["target_modules"] = targets,
            ["use_rslora"] = c.UseRslora,
            ["rank_pattern"] = ranks,
            ["alpha_pattern"] = alphas,
            ["fan_in_fan_out"] = false,
            ["bias"] = "none",
            ["init_lora_weights"] = c.Init == LoraInit.Kaiming ? JsonValue.Create(true) : JsonValue.Create(InitName(c)),
            ["inference_mode"] = true,
            ["layers_to_transform"] = c.LayersToTransform is { } l ? new JsonArray(l.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray()) : null,
            ["layers_pattern"] = null,
            ["modules_to_save"] = null,
            ["use_dora"] = c.UseDora,
        };
    }

    /// Reads a PEFT LoRA config. `target_modules: null` (PEFT's per-architecture default) yields an empty
    /// TargetModules list, which the loader fills from the adapter's tensors.
    public static LoraConfig FromJson(JsonObject o, string source)
    {
        var type = Str(o, "peft_type", source);
        if (type is not null && !string.Equals(type, "LORA", StringComparison.OrdinalIgnoreCase))
            throw new UserException($"{source}: peft_type is '{type}'; only LORA adapters are supported");
        if (Bool(o, "fan_in_fan_out", source) == true)
            throw new UserException($"{source}: fan_in_fan_out is true (GPT-2 style Conv1D weights); Llama-family adapters never set it");
        var bias = Str(o, "bias", source) ?? "none";
        if (bias != "none") throw new UserException($"{source}: bias is '{bias}'; only bias \"none\" is supported");
        if (o["modules_to_save"] is JsonArray { Count: > 0 })
            throw new UserException($"{source}: modules_to_save is set; adapters that carry full module copies are not supported");

        var (init, iterations) = ReadInit(o["init_lora_weights"], source);
        var cfg = new LoraConfig
        {
            R = Int(o["r"], "r", source) ?? 8,
            Alpha = Dbl(o["lora_alpha"], "lora_alpha", source) ?? 8,
            Dropout = Dbl(o["lora_dropout"], "lora_dropout", source) ?? 0,
            TargetModules = o["target_modules"] switch
            {
                JsonArray a => a.Select(e => e is JsonValue v && v.TryGetValue<string>(out var t) ? t
                    : throw new UserException($"{source}: target_modules must hold strings")).ToArray(),
                _ => Array.Empty<string>(),
            },
            TargetRegex = o["target_modules"] is JsonValue tv && tv.TryGetValue<string>(out var rx) ? rx : null,
            LoraHead = o["target_modules"] is JsonArray ta && ta.Any(e => e is JsonValue v && v.TryGetValue<string>(out var t) && t.Split('.')[^1] == "lm_head"),
            UseRslora = Bool(o, "use_rslora", source) ?? false,
            RankPattern = Pattern(o, "rank_pattern", source, (n, k) => Int(n, $"rank_pattern['{k}']", source)!.Value),
            AlphaPattern = Pattern(o, "alpha_pattern", source, (n, k) => Dbl(n, $"alpha_pattern['{k}']", source)!.Value),
            LayersToTransform = o["layers_to_transform"] switch
            {
                null => null,
                JsonArray a => a.Select(e => Int(e, "layers_to_transform", source) ?? 0).ToArray(),
                var n => new[] { Int(n, "layers_to_transform", source)!.Value },
            },
            Init = init,
            PissaIterations = iterations,
            UseDora = Bool(o, "use_dora", source) ?? false,
            BaseModelNameOrPath = Str(o, "base_model_name_or_path", source),
            Revision = Str(o, "revision", source),
        };
        return cfg;
    }

    /// PEFT's name of a config's init_lora_weights (the default is written as `true`).
    public static string InitName(LoraConfig c) => c.Init switch
    {
        LoraInit.Kaiming => "true",
        LoraInit.Gaussian => "gaussian",
        LoraInit.Pissa => "pissa",
        LoraInit.PissaFast => $"pissa_niter_{c.PissaIterations}",
        LoraInit.Olora => "olora",
        _ => throw new ArgumentOutOfRangeException(nameof(c)),
    };

    /// init_lora_weights as PEFT writes it. It matters when loading: an adapter saved over PiSSA's or OLoRA's residual base
    /// (not converted) is loaded as PEFT loads it, by initialising again, which makes the base the residual, then reading A and B.
    static (LoraInit, int) ReadInit(JsonNode? n, string source)
    {
        const int d = LoraConfig.DefaultPissaIterations;
        if (n is null) return (LoraInit.Kaiming, d);
        // false (random B, for tests) only shaped the weights that the saved ones replace
        if (n is JsonValue b && b.TryGetValue<bool>(out _)) return (LoraInit.Kaiming, d);
        var s = n is JsonValue v && v.TryGetValue<string>(out var t) ? t : throw new UserException($"{source}: field 'init_lora_weights' must be true or a string");
        if (s.StartsWith("pissa_niter_", StringComparison.Ordinal))
            return int.TryParse(s["pissa_niter_".Length..], out int it) && it >= 1 ? (LoraInit.PissaFast, it)
                : throw new UserException($"{source}: init_lora_weights '{s}': pissa_niter_N needs a whole number N ≥ 1");
        return s switch
        {
            "gaussian" => (LoraInit.Gaussian, d),
            "pissa" => (LoraInit.Pissa, d),
            "olora" => (LoraInit.Olora, d),
            "eva" => (LoraInit.Kaiming, d), // EVA shapes A from data at creation; the saved weights replace it, the base is untouched
            _ => throw new UserException($"{source}: init_lora_weights '{s}' is not supported (true, false, gaussian, eva, pissa, pissa_niter_N, olora)"),
        };
    }

    /// Integral alphas are written as integers, as PEFT does (`lora_alpha: int`).
    static JsonNode Number(double v) =>
        v == Math.Floor(v) && Math.Abs(v) < int.MaxValue ? JsonValue.Create((int)v) : JsonValue.Create(v);

    static Dictionary<string, T> Pattern<T>(JsonObject o, string field, string source, Func<JsonNode?, string, T> read)
    {
        var result = new Dictionary<string, T>();
        switch (o[field])
        {
            case null: return result;
            case JsonObject obj:
                foreach (var (k, v) in obj) result[k] = read(v, k);
                return result;
            default: throw new UserException($"{source}: {field} must be an object (module pattern → value)");
        }
    }

    static string? Str(JsonObject o, string k, string source) => o[k] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw new UserException($"{source}: field '{k}' must be a string"),
    };

    static bool? Bool(JsonObject o, string k, string source) => o[k] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        _ => throw new UserException($"{source}: field '{k}' must be true or false"),
    };

    static int? Int(JsonNode? n, string field, string source) => n switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d) && d == Math.Floor(d) => (int)d,
        _ => throw new UserException($"{source}: field '{field}' must be an integer"),
    };

    static double? Dbl(JsonNode? n, string field, string source) => n switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d) => d,
        _ => throw new UserException($"{source}: field '{field}' must be a number"),
    };
}
