using LoraLab.Models;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Models;

public class RopeAndBiasTests
{
    static ModelConfig Base(RopeScaling? s = null) => new()
    {
        ModelType = "llama", VocabSize = 64, HiddenSize = 64, IntermediateSize = 96, NumHiddenLayers = 1, NumAttentionHeads = 2,
        NumKeyValueHeads = 1, HeadDim = 32, RopeTheta = 500000, RopeScaling = s, MaxPositionEmbeddings = 128,
    };

    [Fact]
    public void LinearScalingDividesFrequenciesByTheFactor()
    {
        using var plain = RotaryEmbedding.InverseFrequencies(Base());
        using var scaled = RotaryEmbedding.InverseFrequencies(Base(new RopeScaling("linear", 4)));
        Assert.True(scaled.mul(4).allclose(plain, 1e-6, 1e-9));
    }

    /// transformers' `_compute_llama3_parameters` rule (factor 8, low 1, high 4, original 8192), evaluated here per
    /// frequency in double precision: high frequencies kept, low ones divided by 8, the band between interpolated.
    [Fact]
    public void Llama3ScalingMatchesTransformers()
    {
        using var inv = RotaryEmbedding.InverseFrequencies(Base(new RopeScaling("llama3", 8, 1, 4, 8192)));
        var v = inv.data<float>().ToArray();
        using var plain = RotaryEmbedding.InverseFrequencies(Base());
        var p = plain.data<float>().ToArray();
        double lowWavelen = 8192 / 1.0, highWavelen = 8192 / 4.0;
        for (int i = 0; i < v.Length; i++)
        {
            double wavelen = 2 * Math.PI / p[i];
            double expected = wavelen < highWavelen ? p[i]
                : wavelen > lowWavelen ? p[i] / 8
                : (1 - (8192 / wavelen - 1) / 3) * p[i] / 8 + (8192 / wavelen - 1) / 3 * p[i];
            Assert.Equal(expected, v[i], expected * 1e-5);
        }
        Assert.True(v[0] == p[0] && v[^1] < p[^1]);
    }

    [Fact]
    public void Qwen2ProjectionsCarryAndApplyTheirBias()
    {
        var cfg = Base() with { ModelType = "qwen2", AttentionBias = true };
        var names = ModelShapes.Expected(cfg).Select(e => e.Name).ToList();
        Assert.Contains("model.layers.0.self_attn.q_proj.bias", names);
        Assert.DoesNotContain("model.layers.0.self_attn.o_proj.bias", names);
        using var m = new CausalLM(cfg, ScalarType.Float32, CPU);
        m.InitializeRandom(3);
        var q = m.model.layers[0].self_attn.q_proj;
        using var _ = no_grad();
        using var x = randn(2, 5, 64);
        using var y0 = q.forward(x);
        q.Bias!.add_(1.0);
        using var y1 = q.forward(x);
        Assert.True(y1.sub(y0).sub(1.0).abs().max().item<float>() < 1e-5);
    }
}
