using System.Text.Json;

namespace LoraLab.Training;

/// Where a run stands, saved beside each checkpoint so `--resume` continues exactly: the next optimizer
/// step, the data position (epoch and micro-batch index), the libtorch RNG state (dropout) and the epoch's loss sums.
public sealed record TrainerState
{
    public int Step { get; init; }
    public int Epoch { get; init; }
    public int BatchInEpoch { get; init; }
    public long TokensSeen { get; init; }
    public double? LastTrainLoss { get; init; }
    public double? LastValLoss { get; init; }
    public string RngState { get; init; } = "";
    /// The running sums of the epoch's mean train loss (loss × target tokens, target tokens) at the checkpoint, so an
    /// epoch resumed part-way reports the same mean as an uninterrupted one.
    public double EpochLossSum { get; init; }
    public long EpochTargets { get; init; }
    /// Seconds spent training before the checkpoint (metrics.jsonl's elapsed_s continues from it).
    public double ElapsedSeconds { get; init; }

    public const string FileName = "trainer_state.json";

    public void Save(string dir) =>
        File.WriteAllText(Path.Combine(dir, FileName), JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true }));

    public static TrainerState Load(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) throw new UserException($"{dir}: not a checkpoint folder ({FileName} missing)");
        try { return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path)) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new UserException($"{path}: unreadable trainer state ({e.Message})"); }
    }
}
