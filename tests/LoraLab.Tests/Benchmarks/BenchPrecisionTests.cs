using System.Text.Json;
using LoraLab.Benchmarks;
using Xunit;

namespace LoraLab.Tests.Benchmarks;

/// `bench` resolves --precision as train does, says why, measures both matmul peaks and takes MFU against the one
/// the step multiplies in.
[Collection("cli")]
public class BenchPrecisionTests
{
    static BenchResult Run(string precision) => StepBenchmark.Run(new BenchOptions
    {
        Config = "tiny", Method = "lora", Batch = 2, Seq = 32, Steps = 1, Warmup = 1, Threads = 1, Precision = precision,
    });

    [Fact]
    public void AutoIsResolvedAndMfuIsAgainstTheStepsOwnPeak()
    {
        var auto = Run("auto"); // the test process keeps auto at fp32 (TestPrecisionDefault)
        Assert.Equal(("fp32", "auto: LORALAB_CPU_BF16=0"), (auto.Precision, auto.PrecisionReason));
        Assert.Equal(auto.PeakFp32GFlops, auto.PeakGFlops);
        var bf16 = Run("bf16");
        Assert.Equal(("bf16", "given"), (bf16.Precision, bf16.PrecisionReason));
        Assert.Equal(bf16.PeakBf16GFlops, bf16.PeakGFlops);
        Assert.All(new[] { auto, bf16 }, r => Assert.True(r.PeakFp32GFlops > 0 && r.PeakBf16GFlops > 0 && r.Mfu > 0 && r.Mfu <= 1, $"MFU {r.Mfu}"));
    }

    [Fact]
    public void JsonSaysWhichPrecisionAndWhy()
    {
        var (code, stdout, err) = CliRunner.Run("bench", "--arch", "tiny", "--method", "lora", "--batch-size", "2", "--max-seq-length", "32",
            "--max-steps", "1", "--warmup", "0", "--threads", "1", "--json");
        Assert.True(code == 0, err);
        var j = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("fp32", j.GetProperty("precision").GetString());
        Assert.Equal("auto: LORALAB_CPU_BF16=0", j.GetProperty("precision_reason").GetString());
        Assert.Equal(j.GetProperty("peak_gflops").GetDouble(), j.GetProperty("peak_gflops_fp32").GetDouble());
        Assert.True(j.GetProperty("peak_gflops_bf16").GetDouble() > 0);
        Assert.InRange(j.GetProperty("mfu").GetDouble(), 1e-6, 1.0);
        Assert.Contains("precision fp32 (auto: LORALAB_CPU_BF16=0)", err);
    }
}
