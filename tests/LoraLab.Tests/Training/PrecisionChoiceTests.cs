using LoraLab.Configuration;
using LoraLab.Runtime;
using LoraLab.Training;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Training;

/// Full fine-tuning in half precision computes in it and keeps fp32 master weights, and says so; adapters' runs store
/// their frozen base in the compute dtype.
public class PrecisionChoiceTests
{
    static readonly PrecisionChoice MachineSaysBf16 = new(ScalarType.BFloat16, "auto: a bf16 MLP block (hidden 512, intermediate 1408) forward and backward measured 3.00x fp32's rate here (1200 vs 400 GFLOP/s)");

    [Fact]
    public void FullFineTuningComputesInBf16AndSaysItsWeightsStayFp32()
    {
        var full = RunSetup.ForMethod(new RunConfig { Method = TrainMethod.Full }, MachineSaysBf16);
        Assert.Equal(ScalarType.BFloat16, full.Dtype);
        Assert.StartsWith(MachineSaysBf16.Reason, full.Reason);
        Assert.Contains("full fine-tuning keeps fp32 master weights and optimizer state, cast to bf16 where multiplied", full.Reason);
        Assert.Same(MachineSaysBf16, RunSetup.ForMethod(new RunConfig { Method = TrainMethod.Lora }, MachineSaysBf16));
        Assert.Same(MachineSaysBf16, RunSetup.ForMethod(new RunConfig { Method = TrainMethod.Qlora }, MachineSaysBf16));
        var fp32 = new PrecisionChoice(ScalarType.Float32, "given");
        Assert.Same(fp32, RunSetup.ForMethod(new RunConfig { Method = TrainMethod.Full, Precision = Precision.Fp32 }, fp32));
    }

    [Theory]
    [InlineData(TrainMethod.Full, ScalarType.BFloat16, ScalarType.Float32)]
    [InlineData(TrainMethod.Full, ScalarType.Float16, ScalarType.Float32)]
    [InlineData(TrainMethod.Full, ScalarType.Float32, ScalarType.Float32)]
    [InlineData(TrainMethod.Lora, ScalarType.BFloat16, ScalarType.BFloat16)]
    [InlineData(TrainMethod.Qlora, ScalarType.BFloat16, ScalarType.BFloat16)]
    public void WeightsAreStoredInTheComputeDtypeExceptFullFineTuningsMasterWeights(TrainMethod method, ScalarType compute, ScalarType weights) =>
        Assert.Equal(weights, RunSetup.WeightDtype(new RunConfig { Method = method }, compute));

    /// Every loader of a run (train's and the demo's) asks RunSetup.LoadOptionsFor, which carries the master weights.
    [Fact]
    public void LoadOptionsCarryFullFineTuningsFp32Weights()
    {
        var full = RunSetup.LoadOptionsFor(new RunConfig { Method = TrainMethod.Full }, CPU, ScalarType.BFloat16);
        Assert.Equal((ScalarType.BFloat16, ScalarType.Float32), (full.Dtype, full.WeightDtype!.Value));
        var lora = RunSetup.LoadOptionsFor(new RunConfig { Method = TrainMethod.Lora }, CPU, ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, lora.WeightDtype);
    }
}
