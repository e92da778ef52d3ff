using LoraLab.Benchmarks;
using Xunit;

namespace LoraLab.Tests.Benchmarks;

/// `loralab bench` on the tiny config: it runs the training step it reports on, and a masked prompt shows up as
/// fewer output-layer FLOPs and a loss over the remaining targets.
public class StepBenchmarkTests
{
    static BenchResult Run(double promptFraction) => StepBenchmark.Run(new BenchOptions
    {
        Config = "tiny", Method = "full", Batch = 2, Seq = 32, Steps = 2, Warmup = 1, Threads = 1, PromptFraction = promptFraction,
    });

    [Fact]
    public void MaskedPromptShrinksTheHeadsWorkOnly()
    {
        var all = Run(0);
        var half = Run(0.5);
        Assert.True(double.IsFinite(all.FinalLoss) && double.IsFinite(half.FinalLoss));
        Assert.Equal(all.Trainable, half.Trainable);
        var c = LoraLab.Models.KnownConfigs.Get("tiny");
        // 31 predictions per row; round(0.5 × 31) = 16 masked → 15 rows per sequence reach the head.
        double headPerRow = 6.0 * c.HiddenSize * c.VocabSize;
        Assert.Equal(headPerRow * 2 * (31 - 15), all.StepFlops - half.StepFlops, 0);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    public void PromptFractionOutsideZeroToOneIsRefused(double f)
    {
        var e = Assert.Throws<UserException>(() => new BenchOptions { PromptFraction = f }.Validate());
        Assert.Contains("--prompt-fraction", e.Message);
    }
}
