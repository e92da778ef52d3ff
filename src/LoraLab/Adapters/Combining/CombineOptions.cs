namespace LoraLab.Adapters.Combining;

/// What `loralab combine` was asked to do.
public sealed record CombineOptions
{
    public required IReadOnlyList<string> AdapterDirs { get; init; }
    /// One weight per adapter; negative subtracts (task arithmetic).
    public required IReadOnlyList<double> Weights { get; init; }
    public CombineMethod Method { get; init; } = CombineMethod.Cat;
    /// The result's rank for svd (default: the largest input rank).
    public int? Rank { get; init; }
    public required string OutDir { get; init; }
    public bool Overwrite { get; init; }
}
