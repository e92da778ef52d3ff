using LoraLab.ModelFiles;

namespace LoraLab.Adapters;

/// What loading an adapter for serving found: its config, its training record (when it has one), how the base it
/// was trained on compares with the one it was loaded onto, and one-line warnings for the user.
public sealed record AdapterLoadReport(string Dir, LoraConfig Config, int Modules, AdapterProvenance? Provenance,
    FingerprintComparison? Base, double MaxLogitChange, IReadOnlyList<string> Warnings);

/// Loads an adapter for eval/generate/chat with the guardrails: a base other than the recorded one is a warning
/// (the load proceeds), and an adapter that leaves the output unchanged is an error.
public static class AdapterLoading
{
    /// The recorded base fingerprint against the base in `modelDir`; null when the adapter records none.
    public static FingerprintComparison? CompareBase(AdapterProvenance? provenance, string modelDir) =>
        provenance?.BaseFingerprint is { } recorded ? recorded.CompareTo(BaseFingerprint.Compute(modelDir)) : null;

    public static AdapterLoadReport Load(string adapterDir, LoadedModel loaded)
    {
        var cfg = PeftFormat.Load(adapterDir, loaded.Model);
        int modules = LoraInjector.Adapters(loaded.Model).Count;
        var provenance = AdapterProvenance.Read(adapterDir);
        var warnings = new List<string>();
        var comparison = CompareBase(provenance, loaded.Dir);
        if (comparison is { Matches: false })
            warnings.Add($"{adapterDir}: the adapter was trained on a different base than {loaded.Dir} ({comparison.Describe()}); its output may be wrong");
        double change = AdapterEffect.MaxLogitChange(loaded.Model);
        if (change == 0)
            throw new UserException($"{adapterDir}: the adapter does not change the model's output (logits identical to the base's on a probe); " +
                "its lora_B weights are probably all zero (saved before any training step), so results would be the base model's");
        return new AdapterLoadReport(adapterDir, cfg, modules, provenance, comparison, change, warnings);
    }
}
