namespace LoraLab.Adapters;

/// Logit agreement on one probe sequence: |merged − (base + adapter)|.
public sealed record ProbeDiff(int Probe, int Tokens, double MaxAbs, double MeanAbs);
