using LoraLab.Configuration;

namespace LoraLab.Training.Preferences;

/// What a preference objective computes: DPO with one of its losses (the reference-relative margin) or reference-free
/// ORPO, and their weights. Read from a run's settings; `eval --task dpo` makes one from its own flags.
public sealed record PreferenceSettings(TrainMethod Method, PreferenceLoss Loss, double Beta, double LabelSmoothing, double OrpoAlpha)
{
    public static PreferenceSettings From(RunConfig c) => new(c.Method, c.Loss, c.Beta, c.LabelSmoothing, c.OrpoAlpha);

    /// DPO with the sigmoid loss and `beta` (what `eval --task dpo` reports).
    public static PreferenceSettings Dpo(double beta) => new(TrainMethod.Dpo, PreferenceLoss.Sigmoid, beta, 0, 0.1);

    public bool UsesReference => Method == TrainMethod.Dpo;
}
