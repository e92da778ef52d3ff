namespace LoraLab.Adapters.Combining;

using LoraLab.Adapters.Analysis;

/// Adapters can be combined only when they adapt the same modules of the same base: the recorded base fingerprints
/// must match (where recorded), and every module must be present in each with the same input and output sizes.
public static class CombineChecks
{
    /// Throws a UserException for the first mismatch; returns warnings for what could not be checked.
    public static IReadOnlyList<string> Check(IReadOnlyList<AdapterFactors> adapters)
    {
        var warnings = new List<string>();
        if (adapters.FirstOrDefault(a => a.Config.UseDora) is { } dora)
            throw new UserException($"{dora.Dir}: a DoRA adapter (use_dora: true); combining is defined on LoRA's update s·B·A, but DoRA's also rescales every row of the base weight by its magnitude vector. Merge it into its base (loralab merge) instead");
        if (adapters.FirstOrDefault(a => a.Config.Init.ChangesBase()) is { } residual)
            throw new UserException($"{residual.Dir}: init_lora_weights is {PeftConfigJson.InitName(residual.Config)}, so the adapter applies to its base's residual after that initialisation, not to the base; convert it to the original base first (PEFT: save_pretrained(path_initial_model_for_weight_conversion=...); LoraLab saves it converted)");
        var first = adapters[0];
        foreach (var other in adapters.Skip(1))
        {
            if (first.Provenance?.BaseFingerprint is { } f && other.Provenance?.BaseFingerprint is { } o)
            {
                var c = f.CompareTo(o);
                if (!c.Matches)
                    throw new UserException($"{other.Dir}: trained on a different base than {first.Dir} ({c.Describe()}); adapters of different bases cannot be combined");
            }
            CheckModules(first, other);
            if (first.Provenance is { } fp && other.Provenance is { } op && PromptDifference(fp, op) is { } what)
                warnings.Add($"{other.Dir}: trained with {what} than {first.Dir}; the combined adapter records {first.Dir}'s, which chat, eval and generate will use");
        }
        foreach (var a in adapters.Where(a => a.Provenance?.BaseFingerprint is null).DistinctBy(a => a.Dir))
            warnings.Add($"{a.Dir}: no base fingerprint recorded ({AdapterProvenance.FileName}); only the module names and shapes were checked against the other adapters");
        return warnings;
    }

    /// How two adapters' recorded prompt policy differs (template, BOS, stop ids, base quantization), or null.
    static string? PromptDifference(AdapterProvenance a, AdapterProvenance b)
    {
        var diffs = new List<string>();
        if (a.Template != b.Template) diffs.Add($"template {b.Template} rather than {a.Template}");
        if (a.AddBos != b.AddBos) diffs.Add($"BOS {(b.AddBos ? "added" : "not added")}");
        if (!a.StopIds.SequenceEqual(b.StopIds)) diffs.Add($"stop ids {string.Join(",", b.StopIds)}");
        if (a.BaseQuantization != b.BaseQuantization) diffs.Add($"base quantization {b.BaseQuantization ?? "none"}");
        return diffs.Count == 0 ? null : "another prompt policy (" + string.Join(", ", diffs) + ")";
    }

    static void CheckModules(AdapterFactors first, AdapterFactors other)
    {
        var mine = first.Modules.ToDictionary(m => m.Path);
        var theirs = other.Modules.ToDictionary(m => m.Path);
        if (mine.Keys.FirstOrDefault(k => !theirs.ContainsKey(k)) is { } missing)
            throw new UserException($"{other.Dir}: does not adapt module '{missing}', which {first.Dir} adapts; combined adapters must target the same modules");
        if (theirs.Keys.FirstOrDefault(k => !mine.ContainsKey(k)) is { } extra)
            throw new UserException($"{other.Dir}: adapts module '{extra}', which {first.Dir} does not; combined adapters must target the same modules");
        foreach (var (path, m) in mine)
        {
            var t = theirs[path];
            if (m.InFeatures != t.InFeatures || m.OutFeatures != t.OutFeatures)
                throw new UserException($"{other.Dir}: module '{path}' is {t.InFeatures} → {t.OutFeatures}, but {m.InFeatures} → {m.OutFeatures} in {first.Dir}; the adapters are for different models");
        }
    }
}
