namespace LoraLab.Sweeps.Presets;

public enum Verdict { Reproduced, Contradicted, Inconclusive }

/// One finding of a built-in preset: the claim as originally reported, the rule that judges it, the numbers it was
/// judged on (a small table, every cell from the preset's CSV files or computed from them), the verdict and why.
public sealed record Finding(string Id, string Title, string Claim, string Rule, IReadOnlyList<string> Header,
    IReadOnlyList<IReadOnlyList<string>> Rows, Verdict Verdict, string Why, IReadOnlyList<string> Runs, bool Measured = true)
{
    public static string Name(Verdict v) => v.ToString().ToLowerInvariant();
}
