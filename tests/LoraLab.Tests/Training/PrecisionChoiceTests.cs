using LoraLab.Configuration;
using LoraLab.Runtime;
using LoraLab.Training;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Training;

/// Full fine-tuning keeps fp32 weights under `auto` and says why; what was asked by name is kept, with a warning for
/// bf16 full fine-tuning.
public class PrecisionChoiceTests
{
    static readonly PrecisionChoice MachineSaysBf16 = new(ScalarType.BFloat16, "auto: a bf16 MLP block (hidden 512, intermediate 1408) forward and backward measured 3.00x fp32's rate here (1200 vs 400 GFLOP/s)");

    [Fact]
    public void AutoKeepsFullFineTuningInFp32AndSaysWhy()
    {
        var full = RunSetup.ForMethod(new RunConfig { Method = TrainMethod.Full }, MachineSaysBf16);
        Assert.Equal(ScalarType.Float32, full.Dtype);
        Assert.Contains("full fine-tuning keeps fp32 weights", full.Reason);
        Assert.Contains("would take bf16 for adapters", full.Reason);
        Assert.Same(MachineSaysBf16, RunSetup.ForMethod(new RunConfig { Method = TrainMethod.Lora }, MachineSaysBf16));
        Assert.Same(MachineSaysBf16, RunSetup.ForMethod(new RunConfig { Method = TrainMethod.Qlora }, MachineSaysBf16));
        var given = new PrecisionChoice(ScalarType.BFloat16, "given");
        Assert.Same(given, RunSetup.ForMethod(new RunConfig { Method = TrainMethod.Full, Precision = Precision.Bf16 }, given));
    }

    [Fact]
    public void Bf16FullFineTuningIsWarnedAboutAndNothingElseIs()
    {
        Assert.Contains("no fp32 master copies", RunSetup.PrecisionWarning(new RunConfig { Method = TrainMethod.Full, Precision = Precision.Bf16 }));
        Assert.Null(RunSetup.PrecisionWarning(new RunConfig { Method = TrainMethod.Full }));
        Assert.Null(RunSetup.PrecisionWarning(new RunConfig { Method = TrainMethod.Lora, Precision = Precision.Bf16 }));
    }
}
