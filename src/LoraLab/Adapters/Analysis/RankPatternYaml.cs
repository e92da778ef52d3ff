using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace LoraLab.Adapters.Analysis;

/// The suggested per-module ranks as YAML in the form of PEFT's LoraConfig / adapter_config.json (`r` and
/// `rank_pattern`, keys being regexes matched against the end of the module path): each module gets the rank
/// holding 90% of its ΔW energy, `r` is the most common of them and only the others are listed.
public static class RankPatternYaml
{
    /// Each module's suggested rank (the one holding 90% of its ΔW energy, at least 1), `r` (lm_head's, else the most
    /// common, the larger on a tie) and the rank_pattern keys of the modules whose rank differs from `r`.
    public static RankSuggestion Suggest(IReadOnlyList<ModuleSpectrum> modules)
    {
        var ranks = modules.Select(m => (m.Path, m.Module, Rank: Math.Max(1, m.Rank90))).ToList();
        int r = ranks.Where(x => x.Path == "lm_head").Select(x => (int?)x.Rank).FirstOrDefault()
            ?? ranks.GroupBy(x => x.Rank).OrderByDescending(g => g.Count()).ThenByDescending(g => g.Key).First().Key;
        var pattern = ranks.Where(x => x.Rank != r).Select(x => (PeftFormat.PatternKey(x.Path), x.Rank)).ToList();
        return new RankSuggestion(r, pattern, ranks);
    }

    public static string Write(IReadOnlyList<ModuleSpectrum> modules, string adapterDir)
    {
        var suggestion = Suggest(modules);
        var sb = new StringBuilder();
        sb.Append("# Suggested LoRA ranks for the modules of ").Append(adapterDir).Append(": each gets the rank that holds 90% of its ΔW energy.\n");
        sb.Append("# r + rank_pattern (keys are regexes matched against the end of the module path), as PEFT's LoraConfig has them:\n");
        sb.Append("# `loralab train --config THIS_FILE ...` trains with these ranks.\n");
        sb.Append("r: ").Append(suggestion.R.ToString(CultureInfo.InvariantCulture)).Append('\n');
        if (suggestion.Pattern.Count == 0) { sb.Append("rank_pattern: {}\n"); return sb.ToString(); }
        sb.Append("rank_pattern:\n");
        foreach (var (key, rank) in suggestion.Pattern)
            sb.Append("  '").Append(key.Replace("'", "''")).Append("': ").Append(rank.ToString(CultureInfo.InvariantCulture)).Append('\n');
        return sb.ToString();
    }
}

/// Suggested ranks: `R` for every module not in `Pattern` (PEFT's rank_pattern keys), and each module's own rank.
public sealed record RankSuggestion(int R, IReadOnlyList<(string Key, int Rank)> Pattern, IReadOnlyList<(string Path, string Module, int Rank)> Modules);
