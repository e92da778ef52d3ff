namespace LoraLab.Adapters;

/// What a merge wrote and how closely the written model reproduces base + adapter.
/// With a quantized base, `BaseQuantization` names its scheme, the reference is base(quantized) + adapter, and
/// `RequantizedProbes` (when asked for) measure the merged model re-quantized with `Requantized`.
public sealed record MergeReport(string OutDir, string Dtype, int ModulesMerged, IReadOnlyList<string> Files, IReadOnlyList<ProbeDiff> Probes,
    string? BaseQuantization = null, string? Requantized = null, IReadOnlyList<ProbeDiff>? RequantizedProbes = null)
{
    public double MaxAbs => Probes.Max(p => p.MaxAbs);
}
