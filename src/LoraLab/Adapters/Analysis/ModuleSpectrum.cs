namespace LoraLab.Adapters.Analysis;

/// Where one adapted module spends its rank: the singular values of ΔW = s·B·A (largest first), the smallest
/// ranks holding 90% and 99% of ΔW's energy (Σσ²), ‖ΔW‖_F and, when the base was given, ‖ΔW‖_F / ‖W‖_F.
public sealed record ModuleSpectrum(string Path, int Layer, string Module, int R, IReadOnlyList<double> SingularValues,
    int Rank90, int Rank99, double Norm, double? RelativeToBase);

public static class EffectiveRank
{
    /// The smallest k whose k largest singular values hold `fraction` of Σσ² (0 for ΔW = 0). A relative slack of
    /// 1e-9 keeps k equal values from reading as one more than they are at 90% when 0.9·k is whole (k = 10).
    public static int AtEnergy(IReadOnlyList<double> singularValues, double fraction)
    {
        double total = singularValues.Sum(s => s * s);
        if (total == 0) return 0;
        double cumulative = 0;
        for (int k = 0; k < singularValues.Count; k++)
        {
            cumulative += singularValues[k] * singularValues[k];
            if (cumulative >= fraction * total * (1 - 1e-9)) return k + 1;
        }
        return singularValues.Count;
    }
}
