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
        // Bounded like every small input: a size past the cap, or a link to /dev/zero, is refused before it is read.
        var bytes = Runtime.BoundedFile.ReadBytes(path, Runtime.FileLimit.TrainerState);
        TrainerState? state;
        // Never the parser's message: it can quote the file's bytes.
        try { state = JsonSerializer.Deserialize<TrainerState>(bytes); }
        catch (JsonException e) { throw CheckpointFileError.Corrupt(path, $"not valid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}"); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw CheckpointFileError.Corrupt(path, $"not a trainer state ({e.GetType().Name})");
        }
        if (state is null) throw CheckpointFileError.Corrupt(path, "null instead of a trainer state");
        if (state.Step < 0 || state.Epoch < 0 || state.BatchInEpoch < 0 || state.TokensSeen < 0)
            throw CheckpointFileError.Corrupt(path, "a negative step, epoch, micro-batch or token count");
        if (state.RngState.Length > 0)
        {
            var rng = new byte[state.RngState.Length];
            using var current = TorchSharp.torch.random.get_rng_state();
            if (!Convert.TryFromBase64String(state.RngState, rng, out int n) || n != current.shape[0])
                throw CheckpointFileError.Corrupt(path, $"RngState is not the {current.shape[0]}-byte state of the random generator");
        }
        return state;
    }
}
