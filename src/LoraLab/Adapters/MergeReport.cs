namespace LoraLab.Adapters;

/// What a merge wrote and how closely the written model reproduces base + adapter.
public sealed record MergeReport(string OutDir, string Dtype, int ModulesMerged, IReadOnlyList<string> Files, IReadOnlyList<ProbeDiff> Probes)
{
    public double MaxAbs => Probes.Max(p => p.MaxAbs);
}
