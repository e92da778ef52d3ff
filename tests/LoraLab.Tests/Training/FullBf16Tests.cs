using LoraLab.Tests.Cli;
using LoraLab.Tests.IO;
using Xunit;

namespace LoraLab.Tests.Training;

/// Full fine-tuning with a bf16 base: every weight's gradient is bf16, and the first step's gradient-flow check
/// must read it (it read a bf16 sum as a float and stopped every such run at step 1 with an internal error).
[Collection("cli")]
public class FullBf16Tests
{
    [Fact]
    public void FullFineTuningInBf16TakesItsSteps()
    {
        var run = Path.Combine(TempDir.New(), "run");
        var (code, stdout, err) = CliRunner.Run(DemoRuns.Train(run, "--method", "full", "--precision", "bf16", "--max-steps", "2", "--batch-size", "4", "--micro-batch-size", "4"));
        Assert.True(code == 0, err + stdout);
        Assert.True(File.Exists(Path.Combine(run, "model", "model.safetensors")) || Directory.EnumerateFiles(Path.Combine(run, "model"), "*.safetensors").Any());
    }
}
