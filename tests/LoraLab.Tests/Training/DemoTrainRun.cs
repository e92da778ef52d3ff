using System.Text.Json;
using LoraLab.Demo;
using Xunit;

namespace LoraLab.Tests.Training;

/// `loralab train` on the demo base and data for a few steps of 8 examples, as the tests of each training method run
/// it: the run folder, its train losses and what it printed.
static class DemoTrainRun
{
    public static (string OutDir, double[] Losses, string Stdout) Run(int steps, params string[] extra)
    {
        string root = DemoAssets.Locate();
        var outDir = Path.Combine(TempDir.New(), "run");
        var (code, stdout, err) = CliRunner.Run(["train", "--model", Path.Combine(root, DemoAssets.BaseFolder),
            "--data", Path.Combine(root, DemoAssets.DataFolder, DemoAssets.TrainFile), "--out", outDir,
            "--max-steps", $"{steps}", "--batch-size", "8", "--micro-batch-size", "8", "--lr", "1e-3", "--warmup-steps", "0", "--log-every", "1",
            "--val-fraction", "0", "--save-every", "0", "--threads", "2", "--seed", "3", .. extra]);
        Assert.True(code == 0, err + stdout);
        var losses = File.ReadLines(Path.Combine(outDir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.GetProperty("type").GetString() == "train").Select(r => r.GetProperty("loss").GetDouble()).ToArray();
        Assert.Equal(steps, losses.Length);
        return (outDir, losses, stdout);
    }

    /// The last five steps' mean loss is below half the first five's.
    public static void AssertFalls(double[] losses) =>
        Assert.True(losses[^5..].Average() < 0.5 * losses[..5].Average(), $"loss {losses[0]:F3} → {losses[^1]:F3}");
}
