using LoraLab.Tests.Cli;
using LoraLab.Tests.IO;
using Xunit;

namespace LoraLab.Tests.Training;

/// Full fine-tuning with a bf16 base takes its steps: the first step's gradient-flow check once read a bf16 gradient's
/// sum as a float and stopped every such run at step 1 with an internal error (the gradients are fp32 now, with fp32
/// master weights; the check still reads any dtype).
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
