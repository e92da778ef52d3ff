using System.Text.Json;
using LoraLab.Demo;
using Xunit;

namespace LoraLab.Tests.Training;

/// `train --loraplus-lr-ratio 16` is in `train --help`, trains the demo model with a falling loss, and run.yaml
/// records the ratio.
[Collection("cli")]
public class LoraPlusTrainingTests
{
    [Fact]
    public void TrainsTheDemoWithAFallingLossAndRecordsTheRatio()
    {
        var (helpCode, help, _) = CliRunner.Run("train", "--help");
        Assert.Equal(0, helpCode);
        Assert.Contains("--loraplus-lr-ratio", help);

        string root = DemoAssets.Locate();
        var outDir = Path.Combine(TempDir.New(), "run");
        var (code, stdout, err) = CliRunner.Run("train", "--model", Path.Combine(root, DemoAssets.BaseFolder),
            "--data", Path.Combine(root, DemoAssets.DataFolder, DemoAssets.TrainFile), "--out", outDir, "--loraplus-lr-ratio", "16",
            "--max-steps", "30", "--batch-size", "8", "--micro-batch-size", "8", "--lr", "1e-3", "--warmup-steps", "0", "--log-every", "1",
            "--val-fraction", "0", "--save-every", "0", "--threads", "2", "--seed", "3");
        Assert.True(code == 0, err + stdout);
        var losses = File.ReadLines(Path.Combine(outDir, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.GetProperty("type").GetString() == "train").Select(r => r.GetProperty("loss").GetDouble()).ToArray();
        Assert.Equal(30, losses.Length);
        Assert.True(losses[^5..].Average() < 0.5 * losses[..5].Average(), $"loss {losses[0]:F3} → {losses[^1]:F3}");
        Assert.Contains("loraplus_lr_ratio: 16", File.ReadAllText(Path.Combine(outDir, "run.yaml")));
    }
}
