using LoraLab.Reporting;
using Xunit;

namespace LoraLab.Tests.Reporting;

/// Reading a run folder for a report from hand-written run.yaml, metrics.jsonl (rows as Trainer writes them) and eval.json.
public class RunHistoryReaderTests : ScratchFolderTest
{
    public RunHistoryReaderTests() : base("run-history") { }

    const string Yaml = "method: lora\nr: 4\nlr: 0.001\nbatch_size: 8\nran:\n  total_steps: 6\n  steps_per_epoch: 4\n  epochs: 1.5\n";

    static string Train(int step, double loss, double rss, double elapsed) =>
        $"{{\"type\":\"train\",\"step\":{step},\"epoch\":1,\"loss\":{loss},\"lr\":0.001,\"tokens_per_s\":{100 * step},\"rss_mb\":{rss},\"elapsed_s\":{elapsed}}}";

    [Fact]
    public void CurvesAndFinalMetricsComeFromTheRowsOfEachType()
    {
        Write("run.yaml", Yaml);
        Write("metrics.jsonl", string.Join("\n",
            Train(1, 3.0, 200, 0.5), Train(2, 2.5, 250, 1.0),
            "{\"type\":\"eval\",\"step\":2,\"epoch\":1,\"val_loss\":2.7,\"train_loss\":null,\"elapsed_s\":1.2}",
            "{\"type\":\"resume\",\"step\":2,\"from\":\"/x\",\"elapsed_s\":1.2}",
            Train(3, 2.0, 220, 1.6),
            "{\"type\":\"epoch\",\"step\":3,\"epoch\":1,\"val_loss\":2.4,\"train_loss\":2.5,\"elapsed_s\":1.7}",
            "{\"type\":\"stop_rate\",\"prompts\":4,\"tuned_rate\":1.0,\"elapsed_s\":2.5}",
            "{\"type\":\"train\",\"step\":4,\"lo")); // torn by a kill
        var run = RunHistoryReader.Read(_dir);
        Assert.Equal([1, 2, 3], run.TrainLoss.Select(p => p.Step));
        Assert.Equal([(2, 2.7), (3, 2.4)], run.ValLoss.Select(p => (p.Step, p.Value)));
        Assert.Equal([100.0, 200, 300], run.TokensPerSecond.Select(p => p.Value));
        Assert.Equal((2.0, 2.4), (run.FinalTrainLoss, run.FinalValLoss));
        Assert.Equal((3, 0.75), (run.Steps, run.Epochs));
        Assert.Equal((250.0, 2.5), (run.PeakMemoryMb, run.WallSeconds));
        Assert.Null(run.TrainableParameters); // no adapter/ yet
        Assert.Empty(run.Tasks);
        Assert.Equal((4, 0.001, 8), (run.Config.R, run.Config.Lr, run.Config.BatchSize));
    }

    [Fact]
    public void EveryNumberOfEvalJsonIsAScoreNamedByItsPath()
    {
        var scores = TaskScores.Read(Write("eval.json",
            "{\"loss\": 1.5, \"template\": \"alpaca\", \"tasks\": {\"mc\": {\"acc\": 0.5, \"acc_norm\": 0.75, \"ok\": true}}, \"per\": [1, 2]}"));
        Assert.Equal(["loss", "tasks.mc.acc", "tasks.mc.acc_norm", "per[0]", "per[1]"], scores.Keys);
        Assert.Equal([1.5, 0.5, 0.75, 1, 2], scores.Values);
        Assert.Empty(TaskScores.Read(Path.Combine(_dir, "absent.json")));
        Assert.Contains("expected a JSON object", Assert.Throws<UserException>(() => TaskScores.Read(Write("arr.json", "[1]"))).Message);
    }

    [Fact]
    public void AFolderThatIsNotARunIsNamedInOneLine()
    {
        Assert.Equal($"{_dir}: not a loralab train run folder (no run.yaml)", Assert.Throws<UserException>(() => RunHistoryReader.Read(_dir)).Message);
        Write("run.yaml", Yaml);
        Assert.Equal($"{_dir}: not a loralab train run folder (no metrics.jsonl)", Assert.Throws<UserException>(() => RunHistoryReader.Read(_dir)).Message);
        var metrics = Write("metrics.jsonl", "{\"type\":\"stop_rate\"}\n");
        Assert.Equal($"{metrics}: no training steps logged yet", Assert.Throws<UserException>(() => RunHistoryReader.Read(_dir)).Message);
        Write("metrics.jsonl", Train(1, 3, 200, 1) + "\nnot json\n" + Train(2, 3, 200, 1) + "\n");
        Assert.StartsWith($"{metrics}:2: not a JSON object", Assert.Throws<UserException>(() => RunHistoryReader.Read(_dir)).Message);
    }

    [Fact]
    public void RunsWithTheSameFolderNameAreNamedByTheirPaths()
    {
        string a = Path.Combine(_dir, "a", "run"), b = Path.Combine(_dir, "b", "run"), c = Path.Combine(_dir, "c");
        foreach (var d in new[] { a, b, c })
        {
            Directory.CreateDirectory(d);
            File.WriteAllText(Path.Combine(d, "run.yaml"), Yaml);
            File.WriteAllText(Path.Combine(d, "metrics.jsonl"), Train(1, 3, 200, 1));
        }
        Assert.Equal([a, b, "c"], RunHistoryReader.ReadAll([a, b, c + "/"]).Select(r => r.Name));
    }
}
