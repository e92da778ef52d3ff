using LoraLab.Adapters;
using LoraLab.Adapters.Quantization;
using LoraLab.Models;
using Xunit;

namespace LoraLab.Tests.Adapters;

/// Counting from shapes: exact PEFT numbers for known models, agreement with real injection, quantized bytes.
public class ParamCounterTests
{
    [Theory]
    [InlineData("qv", false, 4_194_304L)]
    [InlineData("all", false, 19_988_480L)]
    [InlineData("all", true, 20_277_248L)]
    public void Llama2_7bAtRank8(string targets, bool head, long trainable)
    {
        var c = KnownConfigs.Resolve("llama-2-7b");
        var count = ParamCounter.Count(c, new LoraConfig { R = 8, TargetModules = LoraTargets.Parse(targets, head) });
        Assert.Equal(trainable, count.TrainableParameters);
        Assert.Equal(6_738_415_616L, count.BaseParameters); // Llama-2-7b's published parameter count
    }

    [Fact]
    public void KnownConfigsHaveTheirPublishedShapes()
    {
        Assert.Equal(new[] { "llama-2-13b", "llama-2-7b", "llama-3-8b", "medium", "mistral-7b", "small", "tiny" }, KnownConfigs.Names);
        var l7 = KnownConfigs.Get("llama-2-7b");
        Assert.Equal((4096, 11008, 32, 32, 32000), (l7.HiddenSize, l7.IntermediateSize, l7.NumHiddenLayers, l7.NumAttentionHeads, l7.VocabSize));
        Assert.Equal(13_015_864_320L, ModelShapes.TotalParameters(KnownConfigs.Get("llama-2-13b")));
        Assert.Equal(7_241_732_096L, ModelShapes.TotalParameters(KnownConfigs.Get("mistral-7b")));
        Assert.Equal(8_030_261_248L, ModelShapes.TotalParameters(KnownConfigs.Get("llama-3-8b")));
        var small = KnownConfigs.Resolve("SMALL");
        Assert.Equal((32000, 512, 1408, 8, 8, 4), (small.VocabSize, small.HiddenSize, small.IntermediateSize, small.NumHiddenLayers, small.NumAttentionHeads, small.NumKeyValueHeads));
        var e = Assert.Throws<UserException>(() => KnownConfigs.Resolve("llama-9b"));
        Assert.Contains("llama-2-7b", e.Message);
    }

    [Fact]
    public void TinyMatchesTheReferenceCheckpointConfig()
    {
        var reference = ModelConfig.Load(Path.Combine(LoraTestModels.TinyDir, "config.json"));
        Assert.Equal(reference, KnownConfigs.Get("tiny"));
        Assert.Equal(reference, KnownConfigs.Resolve(LoraTestModels.TinyDir));
    }

    [Theory]
    [InlineData("qv", false)]
    [InlineData("all", true)]
    [InlineData("mlp", false)]
    public void CountMatchesInjection(string targets, bool head)
    {
        var cfg = new LoraConfig { R = 4, TargetModules = LoraTargets.Parse(targets, head), RankPattern = new Dictionary<string, int> { ["1"] = 2 } };
        using var m = LoraTestModels.RandomTiny();
        var injected = LoraInjector.Apply(m, cfg, 1);
        var counted = ParamCounter.Count(m.Config, cfg);
        Assert.Equal(injected.TrainableParameters, counted.TrainableParameters);
        Assert.Equal(injected.TrainableParameters, m.parameters().Where(p => p.requires_grad).Sum(p => p.numel()));
        Assert.Equal(m.parameters().Sum(p => p.numel()), counted.TotalParameters);
    }

    [Fact]
    public void QuantizedSizeFormula()
    {
        // 4096 x 4096: 8,388,608 bytes of codes + 262,144 block codes + 1,024 fp32 absmax-of-absmax + one fp32 mean
        Assert.Equal(8_388_608L + 262_144 + 4 * 1_024 + 4, QuantizedSize.Bytes(4096, 4096, "nf4"));
        Assert.Equal(QuantizedSize.Bytes(4096, 4096, "nf4"), QuantizedSize.Bytes(4096, 4096, "fp4"));
        double bits = 8.0 * QuantizedSize.Bytes(4096, 11008, "nf4") / (4096.0 * 11008);
        Assert.InRange(bits, 4.126, 4.128);
        Assert.Equal(4096L * 11008 + 4 * 11008, QuantizedSize.Bytes(11008, 4096, "int8"));
        Assert.Equal(2L * 10 * 3, QuantizedSize.Bytes(10, 3, "bf16"));
        Assert.Equal(3L + 1 + 4 + 4, QuantizedSize.Bytes(1, 5, "nf4")); // partial blocks round up
        Assert.Throws<UserException>(() => QuantizedSize.Bytes(1, 1, "int4"));
    }

    [Fact]
    public void FrozenBytesQuantizeOnlyBlockLinears()
    {
        var c = KnownConfigs.Get("llama-2-7b");
        var b = ParamCounter.FrozenBytes(c, "nf4");
        Assert.Equal(2 * ModelShapes.TotalParameters(c), b.Bf16Bytes);
        long embedHeadNorms = 2L * (2 * 32000 * 4096 + 65 * 4096);
        Assert.Equal(embedHeadNorms, b.UnquantizedBytes);
        long perLayer = 4 * QuantizedSize.Bytes(4096, 4096, "nf4") + 3 * QuantizedSize.Bytes(11008, 4096, "nf4");
        Assert.Equal(32 * perLayer, b.QuantizedLinearBytes);
    }
}
