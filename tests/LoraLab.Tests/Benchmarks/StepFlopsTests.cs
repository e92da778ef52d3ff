using LoraLab.Adapters;
using LoraLab.Benchmarks;
using LoraLab.Models;
using Xunit;

namespace LoraLab.Tests.Benchmarks;

public class StepFlopsTests
{
    static long LinearParams(ModelConfig c) =>
        ModelShapes.Expected(c).Where(e => e.Name.Contains("_proj.") || e.Name == "lm_head.weight").Sum(e => e.Shape[0] * e.Shape[1]);

    [Fact]
    public void FullFineTuningIsSixTimesLinearParamsPlusAttention()
    {
        var c = KnownConfigs.Get("small");
        var f = StepFlops.Compute(c, full: true, null, batch: 4, seq: 256);
        // every projection on every token (the head on T-1 rows): 6 FLOPs per weight per token
        long layerParams = LinearParams(c) - c.HiddenSize * (long)c.VocabSize;
        Assert.Equal(6.0 * layerParams * 4 * 256, f.Projections, 0);
        Assert.Equal(6.0 * c.HiddenSize * c.VocabSize * 4 * 255, f.Head, 0);
        // causal attention: 3 × 4·d FLOPs per (query, key ≤ query) pair and head
        Assert.Equal(3 * 4.0 * c.HeadDim * c.NumAttentionHeads * c.NumHiddenLayers * 4 * (256 * 257 / 2), f.Attention, 0);
        Assert.Equal(0, f.Adapters);
    }

    [Fact]
    public void LoraIsAboutFourTimesAndSkipsLayerZeroInputGradients()
    {
        var c = KnownConfigs.Get("small");
        var sites = LoraSite.Plan(c, new LoraConfig { R = 8, Alpha = 16, TargetModules = LoraTargets.Parse("all") });
        var f = StepFlops.Compute(c, full: false, sites, 4, 256);
        double tokens = 4 * 256;
        long qkv = c.HiddenSize * (long)(c.NumAttentionHeads + 2 * c.NumKeyValueHeads) * c.HeadDim;
        long layerParams = LinearParams(c) - c.HiddenSize * (long)c.VocabSize;
        Assert.Equal(tokens * (4.0 * layerParams - 2.0 * qkv), f.Projections, 0);
        Assert.Equal(4.0 * c.HiddenSize * c.VocabSize * 4 * 255, f.Head, 0);
        Assert.InRange(f.Adapters, 0.01 * f.Total, 0.1 * f.Total); // r = 8: about 4% of the step
        var full = StepFlops.Compute(c, true, null, 4, 256);
        Assert.True(f.Total < full.Total);
    }

    /// Labels masking a prompt shrink the output layer's rows and nothing else.
    [Fact]
    public void MaskedPromptRowsSkipTheHead()
    {
        var c = KnownConfigs.Get("small");
        var all = StepFlops.Compute(c, full: true, null, 4, 256);
        var masked = StepFlops.Compute(c, full: true, null, 4, 256, headRows: 4 * 100);
        Assert.Equal(6.0 * c.HiddenSize * c.VocabSize * 4 * 100, masked.Head, 0);
        Assert.Equal(all.Projections, masked.Projections);
        Assert.Equal(all.Attention, masked.Attention);
    }
}
