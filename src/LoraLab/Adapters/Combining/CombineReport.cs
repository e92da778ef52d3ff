namespace LoraLab.Adapters.Combining;

/// What `loralab combine` wrote. `MaxRelativeError` is the largest ‖ΔW' − Σ wᵢ·ΔWᵢ‖_F / ‖Σ wᵢ·ΔWᵢ‖_F over the
/// modules (0 up to rounding for cat; the truncation for svd; the cross terms for linear); null where every sum is 0.
public sealed record CombineReport(string OutDir, CombineMethod Method, int Modules, int MinRank, int MaxRank,
    double? MaxRelativeError, IReadOnlyList<string> Warnings);
