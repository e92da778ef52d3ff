using LoraLab.Estimation;
using LoraLab.Models;
using Xunit;

namespace LoraLab.Tests.Estimation;

public class MemoryEstimatorTests
{
    static MemoryEstimate Est(string config, string method = "lora", string targets = "all", string precision = "fp32",
        string device = "cpu", bool ckpt = false, int batch = 4, int seq = 256) =>
        MemoryEstimator.Estimate(KnownConfigs.Get(config), new MemoryEstimateOptions
        {
            Method = method, Targets = targets, Precision = precision, Device = device, GradCheckpointing = ckpt, Batch = batch, Seq = seq,
        });

    [Fact]
    public void WeightsAreTheParameterCountTimesTheDtype()
    {
        var c = KnownConfigs.Get("small");
        Assert.Equal(ModelShapes.TotalParameters(c) * 4, Est("small").Weights);
        Assert.Equal(ModelShapes.TotalParameters(c) * 2, Est("small", precision: "bf16").Weights);
    }

    [Fact]
    public void FullFineTuningCarriesGradientsAndTwoAdamMoments()
    {
        var e = Est("small", "full");
        Assert.Equal(e.Weights, e.Gradients);
        Assert.Equal(2 * e.Weights, e.OptimizerState);
        Assert.Equal(0, e.Adapter);
        Assert.True(e.Total > Est("small").Total);
    }

    [Fact]
    public void FullFineTuningInBf16KeepsFp32MasterWeightsAndHalvesActivations()
    {
        var fp32 = Est("small", "full");
        var bf16 = Est("small", "full", precision: "bf16");
        Assert.Equal(fp32.Weights, bf16.Weights);
        Assert.Equal(fp32.Gradients, bf16.Gradients);
        Assert.Equal(fp32.OptimizerState, bf16.OptimizerState);
        Assert.True(bf16.Activations < 0.8 * fp32.Activations);
    }

    [Fact]
    public void QloraPacksTheLayerProjections()
    {
        var c = KnownConfigs.Get("llama-2-7b");
        var lora = Est("llama-2-7b", precision: "bf16", batch: 1);
        var q = Est("llama-2-7b", "qlora", precision: "bf16", batch: 1);
        long proj = ModelShapes.Expected(c).Where(e => e.Name.StartsWith("model.layers.") && e.Name.EndsWith("_proj.weight")).Sum(e => e.Shape[0] * e.Shape[1]);
        long rest = ModelShapes.TotalParameters(c) - proj;
        double packedRatio = (double)(q.Weights + q.QuantConstants - rest * 2) / (proj * 2);
        Assert.InRange(packedRatio, 0.25, 0.27); // ≈ 4.13 bits of 16
        Assert.Equal(lora.Adapter, q.Adapter);
    }

    [Fact]
    public void MoreTargetsAndLongerSequencesNeedMoreActivations()
    {
        Assert.True(Est("small", targets: "all").Activations > Est("small", targets: "qv").Activations);
        // Everything but the head's one logit chunk (a fixed 64 MB at these sizes) scales with the tokens.
        long chunk = LoraLab.Training.ChunkedHeadLoss.ChunkElements * 4;
        Assert.True(Est("small", seq: 512).Activations - chunk > 1.95 * (Est("small", seq: 256).Activations - chunk));
        Assert.True(Est("small", ckpt: true).Activations < 0.5 * Est("small").Activations);
    }

    [Fact]
    public void CudaLeavesOutTheProcessRuntime()
    {
        var e = Est("small", device: "cuda");
        Assert.Equal(0, e.Runtime);
        Assert.Equal(0, e.AllocatorSlack);
        Assert.Equal(e.Weights + e.QuantConstants + e.Adapter + e.OptimizerState + Math.Max(e.Activations, e.Gradients), e.Total);
    }

    [Fact]
    public void BadOptionsNameTheFlag()
    {
        var ex = Assert.Throws<UserException>(() => Est("small", "dora"));
        Assert.Contains("--method", ex.Message);
        Assert.Contains("--precision", Assert.Throws<UserException>(() => Est("small", precision: "fp8")).Message);
    }
}
