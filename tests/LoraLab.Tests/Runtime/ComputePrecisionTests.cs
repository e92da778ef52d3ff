using LoraLab.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests;

/// `--precision auto` on a CPU: the environment variable, then the CPU's bf16 instructions, then the measured rates.
public class ComputePrecisionTests
{
    static (double, double) NotCalled() => throw new Xunit.Sdk.XunitException("the probe ran");

    [Fact]
    public void TheVariableDecidesBeforeFlagsOrProbe()
    {
        var off = ComputePrecision.DecideCpu("0", true, NotCalled);
        Assert.Equal((ScalarType.Float32, "auto: LORALAB_CPU_BF16=0"), (off.Dtype, off.Reason));
        var on = ComputePrecision.DecideCpu("1", false, NotCalled);
        Assert.Equal(ScalarType.BFloat16, on.Dtype);
        Assert.Contains("LORALAB_CPU_BF16=1", on.Reason);
        var e = Assert.Throws<UserException>(() => ComputePrecision.DecideCpu("yes", true, NotCalled));
        Assert.Contains("LORALAB_CPU_BF16='yes'", e.Message);
    }

    [Fact]
    public void ACpuWithoutBf16InstructionsStaysFp32WithoutProbing()
    {
        var c = ComputePrecision.DecideCpu(null, false, NotCalled);
        Assert.Equal(ScalarType.Float32, c.Dtype);
        Assert.Contains("no bf16 matrix instructions", c.Reason);
        Assert.Equal("fp32", c.Name);
    }

    [Theory]
    [InlineData(400, 240, ScalarType.Float32)]  // AVX512_BF16 through libtorch slower than fp32 (a Zen 4 case)
    [InlineData(400, 480, ScalarType.Float32)]  // faster, but not by the margin the rest of the step needs
    [InlineData(390, 1200, ScalarType.BFloat16)] // AMX
    public void TheProbeDecidesByTheMargin(double fp32, double bf16, ScalarType expected)
    {
        var c = ComputePrecision.DecideCpu("", true, () => (fp32, bf16), new ProbeShape(192, 512));
        Assert.Equal(expected, c.Dtype);
        Assert.Contains($"a bf16 MLP block (hidden 192, intermediate 512) forward and backward measured {bf16 / fp32:F2}x fp32's rate here ({bf16:F0} vs {fp32:F0} GFLOP/s)", c.Reason);
        if (expected == ScalarType.Float32) Assert.Contains("bf16 is taken from 1.3x", c.Reason);
    }

    [Fact]
    public void NamedPrecisionsAreTakenAsGivenAndAutoFollowsTheVariable()
    {
        Assert.Equal(ScalarType.BFloat16, ComputePrecision.Resolve("bf16", CPU).Dtype);
        Assert.Equal("given", ComputePrecision.Resolve("FP32", CPU).Reason);
        Assert.Equal(ScalarType.Float16, ComputePrecision.Resolve("fp16-mixed", CPU).Dtype);
        Assert.Throws<UserException>(() => ComputePrecision.Resolve("fp8", CPU));
        // the test process sets LORALAB_CPU_BF16=0 (TestPrecisionDefault), so auto is fp32 on every machine here
        var auto = ComputePrecision.Resolve("auto", CPU);
        Assert.Equal((ScalarType.Float32, "auto: LORALAB_CPU_BF16=0"), (auto.Dtype, auto.Reason));
    }

    [Fact]
    public void TheProbeMeasuresBothDtypesInAFractionOfASecond()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (fp32, bf16) = ComputePrecision.Probe(CPU, new ProbeShape(8192, 28672)); // capped to 1024 x 2816
        Assert.True(fp32 > 0 && bf16 > 0 && double.IsFinite(fp32) && double.IsFinite(bf16), $"{fp32} {bf16}");
        Assert.True(clock.Elapsed.TotalSeconds < 10, $"{clock.Elapsed.TotalSeconds:F1} s");
    }
}
