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

        var (outDir, losses, _) = DemoTrainRun.Run(30, "--loraplus-lr-ratio", "16");
        DemoTrainRun.AssertFalls(losses);
        Assert.Contains("loraplus_lr_ratio: 16", File.ReadAllText(Path.Combine(outDir, "run.yaml")));
    }
}
