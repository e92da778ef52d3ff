namespace LoraLab.Adapters.Combining;

/// What `loralab combine` was asked to do.
public sealed record CombineOptions
{
    public required IReadOnlyList<string> AdapterDirs { get; init; }
    /// One weight per adapter; negative subtracts (task arithmetic).
    public required IReadOnlyList<double> Weights { get; init; }
    public CombineMethod Method { get; init; } = CombineMethod.Cat;
    /// The result's rank for svd, ties and dare (default: the largest input rank).
    public int? Rank { get; init; }
    /// The fraction of each ΔWᵢ's entries that ties keeps (by magnitude) and dare keeps (at random), in (0, 1].
    public double? Density { get; init; }
    /// How ties and dare-ties elect signs (default Total, as PEFT's).
    public MajoritySign? MajoritySign { get; init; }
    /// The seed of dare's draws (default 0).
    public long? Seed { get; init; }
    public required string OutDir { get; init; }
    public bool Overwrite { get; init; }
}
