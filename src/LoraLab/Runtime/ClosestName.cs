namespace LoraLab.Runtime;

/// "did you mean …?" for a misspelt flag or config key: first a spelling users bring from other tools
/// (ForeignSpellings), then the known name fewest edits away (Levenshtein), if it is close enough to be a typo.
public static class ClosestName
{
    /// Names compare in kebab case (`max_steps`, `--max-steps` and `Max-Steps` are one name); the result is the
    /// matching entry of `known` as given.
    public static string? For(string typed, IEnumerable<string> known)
    {
        var candidates = known.Distinct().ToList();
        var t = Kebab(typed);
        if (ForeignSpellings.Map.TryGetValue(t, out var ours) && candidates.FirstOrDefault(k => Kebab(k) == ours) is { } mapped)
            return mapped;
        var best = candidates.Select(k => (Name: k, Distance: Distance(t, Kebab(k)))).OrderBy(x => x.Distance).FirstOrDefault();
        // one or two letters are too short to guess from; longer names allow a typo per three letters (at least two)
        return best.Name is not null && t.Length >= 3 && best.Distance <= (t.Length == 3 ? 1 : Math.Max(2, t.Length / 3)) ? best.Name : null;
    }

    public static string Kebab(string name) => name.TrimStart('-').Replace('_', '-').ToLowerInvariant();

    static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
