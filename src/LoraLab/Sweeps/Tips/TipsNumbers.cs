using LoraLab.Sweeps.Presets;

namespace LoraLab.Sweeps.Tips;

/// Where the lora-tips preset keeps what results.csv does not: DIR/scores.csv, the task scores of models that are
/// not runs (the untrained base and the combined adapters).
public static class TipsNumbers
{
    public const string ScoresCsv = "scores.csv";
    /// The untrained base's row of scores.csv.
    public const string BaseModel = "base";

    public static SweepNumbers Read(string dir) => SweepNumbers.Read(dir, ScoresCsv);
}
