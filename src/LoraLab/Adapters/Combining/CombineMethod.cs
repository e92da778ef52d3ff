namespace LoraLab.Adapters.Combining;

/// How `loralab combine` builds one adapter from several.
public enum CombineMethod
{
    /// Stack the ranks: ΔW = Σ wᵢ·ΔWᵢ exactly, rank Σ rᵢ.
    Cat,
    /// Weighted sums of the A's and of the B's (same ranks only): B'A' carries cross terms, an approximation.
    Linear,
    /// The best rank-r approximation of Σ wᵢ·ΔWᵢ, through the factors.
    Svd,
    /// TIES (PEFT's ties_svd): trim each ΔWᵢ to --density by magnitude, elect each entry's sign on the trimmed ΔWᵢ,
    /// average the agreeing wᵢ·ΔWᵢ; then the rank-r SVD of that dense result.
    Ties,
    /// DARE (PEFT's dare_linear_svd): drop each entry of ΔWᵢ with probability 1 − density, rescale by 1/density
    /// (seeded), Σ wᵢ·ΔWᵢ; then the rank-r SVD.
    Dare,
    /// DARE-TIES (PEFT's dare_ties_svd): DARE's drop and rescale, then TIES's sign election and disjoint mean.
    DareTies,
}

public static class CombineMethods
{
    public const string Names = "cat, linear, svd, ties, dare, dare-ties";

    public static CombineMethod Parse(string? name, string flag = "--method") => name?.ToLowerInvariant() switch
    {
        null or "cat" => CombineMethod.Cat,
        "linear" => CombineMethod.Linear,
        "svd" => CombineMethod.Svd,
        "ties" => CombineMethod.Ties,
        "dare" => CombineMethod.Dare,
        "dare-ties" => CombineMethod.DareTies,
        _ => throw new UserException($"{flag} '{name}' is not a combine method ({Names})"),
    };

    /// The spelling --method takes.
    public static string Name(this CombineMethod m) => m == CombineMethod.DareTies ? "dare-ties" : m.ToString().ToLowerInvariant();

    /// The methods that decide per entry on dense ΔWᵢ and end in the rank-r SVD (--density applies).
    public static bool IsEntryWise(this CombineMethod m) => m is CombineMethod.Ties or CombineMethod.Dare or CombineMethod.DareTies;

    /// The methods that draw random numbers (--seed applies).
    public static bool IsRandom(this CombineMethod m) => m is CombineMethod.Dare or CombineMethod.DareTies;

    /// The methods that elect signs (--majority-sign applies).
    public static bool ElectsSigns(this CombineMethod m) => m is CombineMethod.Ties or CombineMethod.DareTies;

    public static MajoritySign ParseMajoritySign(string? name) => name?.ToLowerInvariant() switch
    {
        null or "total" => MajoritySign.Total,
        "frequency" => MajoritySign.Frequency,
        _ => throw new UserException($"--majority-sign '{name}' is not total or frequency"),
    };
}
