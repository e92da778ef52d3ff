using System.Text.Json;
using System.Text.RegularExpressions;
using LoraLab.Adapters.Analysis;
using LoraLab.ModelFiles;

namespace LoraLab.Adapters.Combining;

/// Writes combined factors as a PEFT adapter: lm_head's rank or the most common one as r, every other module's rank
/// in rank_pattern (keyed as PeftFormat.PatternKey), and alpha = r for every module (alpha_pattern beside rank_pattern), so each
/// module's scaling is exactly 1 and B·A is the update. Targets are the first input's, which select the same modules.
public static class CombinedAdapterWriter
{
    public static void Write(string dir, AdapterFactors first, IReadOnlyList<CombinedModule> modules)
    {
        // lm_head can only take r (no pattern key reaches it in older PEFT), otherwise the most common rank
        int common = modules.FirstOrDefault(m => m.Path == "lm_head")?.R
            ?? modules.GroupBy(m => m.R).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
        var ranks = new Dictionary<string, int>();
        var alphas = new Dictionary<string, double>();
        foreach (var m in modules.Where(m => m.R != common))
        {
            ranks[PeftFormat.PatternKey(m.Path)] = m.R;
            alphas[PeftFormat.PatternKey(m.Path)] = m.R;
        }
        var cfg = first.Config with
        {
            R = common, Alpha = common, UseRslora = false, RankPattern = ranks, AlphaPattern = alphas,
            TargetModules = first.Config.TargetRegex is null && first.Config.TargetModules.Count == 0
                ? modules.Select(m => m.Path.Split('.')[^1]).Distinct().Order(StringComparer.Ordinal).ToArray()
                : first.Config.TargetModules,
        };
        SafeTensorsWriter.Save(Path.Combine(dir, PeftFormat.WeightsFile), modules.SelectMany(m => new[]
        {
            (PeftFormat.KeyPrefix + m.Path + ".lora_A.weight", m.A),
            (PeftFormat.KeyPrefix + m.Path + ".lora_B.weight", m.B),
        }));
        File.WriteAllText(Path.Combine(dir, PeftFormat.ConfigFile), PeftConfigJson.ToJson(cfg).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        if (first.Provenance is { } p) AdapterProvenance.Write(dir, p);
    }
}
