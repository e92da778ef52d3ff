namespace LoraLab.Adapters;

/// What an injection did: every adapted module and the parameter counts (PEFT's print_trainable_parameters).
public sealed record LoraSummary(IReadOnlyList<LoraSite> Sites, long BaseParameters, long TrainableParameters)
{
    public int ModulesWrapped => Sites.Count;
    /// Base plus adapter parameters.
    public long TotalParameters => BaseParameters + TrainableParameters;
    public double TrainablePercent => TotalParameters == 0 ? 0 : 100.0 * TrainableParameters / TotalParameters;

    public override string ToString() =>
        $"LoRA on {ModulesWrapped} modules: trainable params {TrainableParameters:N0} || all params {TotalParameters:N0} || trainable% {TrainablePercent:F4}";
}
