namespace LoraLab.Sweeps.Presets;

/// What a preset's report says about the run as a whole: scale, machine, time and data.
/// Seconds: this invocation's; RunSeconds: the training time of every run (the sum of their wall times), across resumes.
public sealed record PresetContext(string Scale, string Machine, DateTime Date, double Seconds, double RunSeconds, int TrainExamples,
    int HeldOutExamples, string ModelDir, long ModelParameters)
{
    /// The JSON report's leading fields.
    public IReadOnlyList<KeyValuePair<string, object>> JsonFields =>
    [
        new("scale", Scale), new("machine", Machine), new("date", Date.ToString("yyyy-MM-dd")), new("seconds", Seconds), new("run_seconds", RunSeconds),
    ];
}
