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
}

public static class CombineMethods
{
    public const string Names = "cat, linear, svd";

    public static CombineMethod Parse(string? name, string flag = "--method") => name?.ToLowerInvariant() switch
    {
        null or "cat" => CombineMethod.Cat,
        "linear" => CombineMethod.Linear,
        "svd" => CombineMethod.Svd,
        _ => throw new UserException($"{flag} '{name}' is not a combine method ({Names})"),
    };
}
