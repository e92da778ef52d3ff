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
        Mapping(sb, "rank_pattern", suggestion.Pattern.Select(p => (p.Key, p.Rank.ToString(CultureInfo.InvariantCulture))));
        sb.Append("# alpha = 2r, and alpha_pattern gives each module of rank_pattern alpha = 2 × its rank: every module's scale alpha/r stays 2\n");
        sb.Append("# (the alpha = 2r rule); without alpha_pattern PEFT scales a module by alpha / its own rank, a rank-1 module by alpha/1.\n");
        sb.Append("alpha: ").Append(Number(AlphaFactor * suggestion.R)).Append('\n');
        Mapping(sb, "alpha_pattern", suggestion.AlphaPattern(AlphaFactor).Select(p => (p.Key, Number(p.Alpha))));
        return sb.ToString();
    }

    /// alpha = 2r, the rule of thumb RunSettings.Alpha's help gives.
    const double AlphaFactor = 2;

    static string Number(double v) => v.ToString(CultureInfo.InvariantCulture);

    static void Mapping(StringBuilder sb, string name, IEnumerable<(string Key, string Value)> pairs)
    {
        sb.Append(name).Append(":\n");
        foreach (var (key, value) in pairs) sb.Append("  '").Append(key.Replace("'", "''")).Append("': ").Append(value).Append('\n');
    }
}

/// Suggested ranks: `R` for every module not in `Pattern` (PEFT's rank_pattern keys), and each module's own rank.
public sealed record RankSuggestion(int R, IReadOnlyList<(string Key, int Rank)> Pattern, IReadOnlyList<(string Path, string Module, int Rank)> Modules)
{
    /// PEFT's alpha_pattern that keeps the scale alpha/r of every module in `Pattern` at `factor` (with alpha = factor × R
    /// for the rest): each key's alpha is factor × its rank.
    public IReadOnlyList<(string Key, double Alpha)> AlphaPattern(double factor) => Pattern.Select(p => (p.Key, factor * p.Rank)).ToList();
}
