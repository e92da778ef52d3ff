using System.Text.Json;
using LoraLab.Configuration;
using LoraLab.ModelFiles;
using LoraLab.Training;

namespace LoraLab.Reporting;

/// Reads a `loralab train` run folder for a report: run.yaml through RunConfig.LoadYaml, metrics.jsonl row by row
/// (the rows Trainer writes: train, eval, epoch, resume, stop_rate), the final weights' headers for their size.
/// A folder that is not a run is a one-line UserException naming it.
public static class RunHistoryReader
{
    public static RunHistory Read(string runDir, string? name = null)
    {
        if (!Directory.Exists(runDir)) throw new UserException($"{runDir}: run folder not found");
        var yaml = Path.Combine(runDir, RunFolder.RunYaml);
        var metrics = Path.Combine(runDir, RunFolder.Metrics);
        foreach (var needed in new[] { yaml, metrics })
            if (!File.Exists(needed))
                throw new UserException($"{runDir}: not a loralab train run folder (no {Path.GetFileName(needed)})");
        var config = RunConfig.LoadYaml(yaml);

        List<StepValue> train = [], val = [], lr = [], speed = [], acc = [], margin = [], valAcc = [], valMargin = [];
        double? peak = null, elapsed = null;
        var lines = File.ReadAllLines(metrics);
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            JsonElement row;
            try { row = JsonDocument.Parse(lines[i]).RootElement; }
            catch (JsonException) when (i == lines.Length - 1) { break; } // a torn last line from a killed run
            catch (JsonException e) { throw new UserException($"{metrics}:{i + 1}: not a JSON object ({e.Message.Split('.')[0]})"); }
            if (row.ValueKind != JsonValueKind.Object) throw new UserException($"{metrics}:{i + 1}: not a JSON object");
            if (Number(row, "elapsed_s") is double e2) elapsed = e2;
            if (Number(row, "step") is not double s) continue;
            int step = (int)s;
            switch (row.TryGetProperty("type", out var t) ? t.GetString() : null)
            {
                case "train":
                    Add(train, step, Number(row, "loss"));
                    Add(lr, step, Number(row, "lr"));
                    Add(speed, step, Number(row, "tokens_per_s"));
                    Add(acc, step, Number(row, "rewards_accuracy"));
                    Add(margin, step, Number(row, "rewards_margin"));
                    if (Number(row, "rss_mb") is double rss) peak = Math.Max(peak ?? 0, rss);
                    break;
                case "eval" or "epoch":
                    Add(val, step, Number(row, "val_loss"));
                    Add(valAcc, step, Number(row, "val_rewards_accuracy"));
                    Add(valMargin, step, Number(row, "val_rewards_margin"));
                    break;
            }
        }
        if (train.Count == 0) throw new UserException($"{metrics}: no training steps logged yet");
        int steps = train[^1].Step;
        int? perEpoch = config.Ran?.StepsPerEpoch;
        return new RunHistory
        {
            Dir = runDir, Name = name ?? FolderName(runDir), Config = config,
            TrainLoss = train, ValLoss = val, LearningRate = lr, TokensPerSecond = speed,
            Rewards = new PreferenceCurves(acc, margin, valAcc, valMargin),
            Steps = steps, Epochs = perEpoch > 0 ? Math.Round((double)steps / perEpoch.Value, 3) : null,
            TrainableParameters = config.ReloraEvery is null ? FinalWeightElements(runDir) : ReloraAdapterElements(runDir), PeakMemoryMb = peak, WallSeconds = elapsed,
            Tasks = TaskScores.Read(Path.Combine(runDir, RunFolder.EvalResult)),
        };
    }

    /// Reads every run, each named by its folder; runs whose folders share a name are named by the path given.
    public static IReadOnlyList<RunHistory> ReadAll(IReadOnlyList<string> runDirs)
    {
        var names = runDirs.Select(FolderName).ToList();
        return runDirs.Select((d, i) => Read(d, names.Count(n => n == names[i]) > 1 ? d : names[i])).ToList();
    }

    public static string FolderName(string dir) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)));

    /// A ReLoRA run's model/ is the whole merged model; what it trains is the adapter its checkpoints hold.
    static long? ReloraAdapterElements(string runDir)
    {
        if (Checkpoints.Latest(runDir) is not { } last || !File.Exists(Path.Combine(last, LoraLab.Adapters.PeftFormat.WeightsFile))) return null;
        using var file = SafeTensorsFile.Open(Path.Combine(last, LoraLab.Adapters.PeftFormat.WeightsFile));
        return file.Tensors.Values.Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));
    }

    static long? FinalWeightElements(string runDir)
    {
        foreach (var folder in new[] { RunFolder.Adapter, RunFolder.Model })
        {
            var dir = Path.Combine(runDir, folder);
            if (!Directory.Exists(dir)) continue;
            using var files = CheckpointFiles.Open(dir);
            return files.Files.SelectMany(f => f.Tensors.Values).Sum(t => t.Shape.Aggregate(1L, (a, b) => a * b));
        }
        return null;
    }

    static void Add(List<StepValue> series, int step, double? value)
    {
        if (value is double v && double.IsFinite(v)) series.Add(new StepValue(step, v));
    }

    static double? Number(JsonElement row, string name) =>
        row.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
}
