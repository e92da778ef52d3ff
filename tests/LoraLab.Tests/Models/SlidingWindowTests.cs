using System.Text.Json.Nodes;
using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace LoraLab.Tests.Models;

/// Sliding-window attention as transformers defines it for Mistral and Qwen2: read from config.json, written back
/// unchanged, and applied in the layers it names once a sequence is longer than the window.
public class SlidingWindowTests
{
    static JsonObject Config(string type, string extra = "") => JsonNode.Parse($$"""
        { "model_type": "{{type}}", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 4,
          "num_attention_heads": 4, "num_key_value_heads": 2 {{extra}} }
        """)!.AsObject();

    [Fact]
    public void ConfigReadsAndWritesTheWindowAsTransformersDoes()
    {
        Assert.Equal(4096, ModelConfig.FromJson(Config("mistral")).SlidingWindow); // MistralConfig's default
        Assert.Null(ModelConfig.FromJson(Config("mistral", ", \"sliding_window\": null")).SlidingWindow);
        Assert.Null(ModelConfig.FromJson(Config("llama")).SlidingWindow);
        Assert.Null(ModelConfig.FromJson(Config("llama", ", \"sliding_window\": 0")).SlidingWindow); // LlamaConfig ignores the key

        var mistral = ModelConfig.FromJson(Config("mistral", ", \"sliding_window\": 8"));
        Assert.Equal(new int?[] { 8, 8, 8, 8 }, Enumerable.Range(0, 4).Select(mistral.WindowOf));
        var mistralV2 = ModelConfig.FromJson(Config("mistral", ", \"sliding_window\": null"));
        Assert.True(mistralV2.ToJson().ContainsKey("sliding_window")); // written as null, not left to the 4096 default
        Assert.Null(ModelConfig.FromJson(mistralV2.ToJson()).SlidingWindow);
        Assert.Equal(8, ModelConfig.FromJson(mistral.ToJson()).SlidingWindow);

        var qwen = ModelConfig.FromJson(Config("qwen2", ", \"use_sliding_window\": true, \"sliding_window\": 8, \"max_window_layers\": 2"));
        Assert.Equal(new int?[] { null, null, 8, 8 }, Enumerable.Range(0, 4).Select(qwen.WindowOf));
        var back = ModelConfig.FromJson(qwen.ToJson());
        Assert.Equal(new int?[] { null, null, 8, 8 }, Enumerable.Range(0, 4).Select(back.WindowOf));
        var qwenOff = ModelConfig.FromJson(Config("qwen2", ", \"sliding_window\": 8, \"max_window_layers\": 2"));
        Assert.All(Enumerable.Range(0, 4), i => Assert.Null(qwenOff.WindowOf(i)));

        var typed = ModelConfig.FromJson(Config("qwen2", ", \"sliding_window\": 8, \"layer_types\": [\"full_attention\", \"sliding_attention\", \"full_attention\", \"sliding_attention\"]"));
        Assert.Equal(new int?[] { null, 8, null, 8 }, Enumerable.Range(0, 4).Select(typed.WindowOf));
        Assert.Equal(new int?[] { null, 8, null, 8 }, Enumerable.Range(0, 4).Select(ModelConfig.FromJson(typed.ToJson()).WindowOf));

        var e = Assert.Throws<UserException>(() => ModelConfig.FromJson(Config("mistral", ", \"sliding_window\": 0")));
        Assert.Contains("sliding_window", e.Message);
    }

    [Fact]
    public void MaskKeepsTheWindowIncludingTheQuery()
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var m = CausalLM.BuildMask(5, 0, null, CPU, window: 2)!.squeeze(0).squeeze(0);
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++)
                Assert.Equal(j <= i && j > i - 2, m[i, j].item<bool>());
        // Two new tokens after three cached ones: positions 3 and 4 against keys 0..4, window 3.
        var c = CausalLM.BuildMask(2, 3, null, CPU, window: 3)!.squeeze(0).squeeze(0);
        Assert.Equal(new[] { false, true, true, true, false, false, false, true, true, true }, c.reshape(-1).data<bool>().ToArray());
        Assert.Null(CausalLM.BuildMask(5, 0, null, CPU)); // plain causal: is_causal, no mask
    }

    static CausalLM Model(ModelConfig cfg)
    {
        var model = new CausalLM(cfg, ScalarType.Float32, CPU);
        model.InitializeRandom(13);
        model.eval();
        return model;
    }

    /// One layer, window 4: the logits at position p equal those of the plain causal model run on positions
    /// p−3..p alone (rotary attention depends on relative positions only), and differ from the full-context ones.
    [Fact]
    public void OneWindowedLayerSeesExactlyTheLastWPositions()
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var baseCfg = KnownConfigs.Get("tiny") with { ModelType = "mistral", NumHiddenLayers = 1, SlidingWindow = null };
        using var plain = Model(baseCfg);
        using var windowed = Model(baseCfg with { SlidingWindow = 4 });
        var ids = randint(0, baseCfg.VocabSize, new long[] { 2, 11 }, generator: new torch.Generator(4));
        var w = windowed.Forward(ids);
        var full = plain.Forward(ids);
        Assert.True(w.narrow(1, 0, 4).allclose(full.narrow(1, 0, 4), rtol: 1e-5, atol: 1e-5), "positions inside the first window changed");
        for (long p = 4; p < 11; p++)
        {
            var last4 = ids.narrow(1, p - 3, 4);
            var pos = arange(p - 3, p + 1, dtype: ScalarType.Int64).unsqueeze(0).expand(2, 4);
            var reference = plain.Forward(last4, pos).select(1, 3);
            Assert.True(w.select(1, p).allclose(reference, rtol: 1e-4, atol: 1e-5), $"position {p} differs from its window alone");
            Assert.False(w.select(1, p).allclose(full.select(1, p), rtol: 1e-4, atol: 1e-5), $"position {p} still sees past the window");
        }
    }

    /// Generation with the KV cache applies the same window as one forward pass over the whole sequence, and a window
    /// at least as long as the sequence changes nothing.
    [Fact]
    public void CachedDecodingMatchesTheFullForwardPass()
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var cfg = KnownConfigs.Get("tiny") with { ModelType = "mistral", SlidingWindow = 3 };
        using var model = Model(cfg);
        var ids = randint(0, cfg.VocabSize, new long[] { 1, 9 }, generator: new torch.Generator(6));
        var full = model.Forward(ids);
        using var cache = new KvCache(cfg, 1, 9, ScalarType.Float32, CPU);
        var prefill = model.Forward(ids.narrow(1, 0, 5), cache: cache);
        Assert.True(prefill.allclose(full.narrow(1, 0, 5), rtol: 1e-4, atol: 1e-5), "prefill differs");
        for (long p = 5; p < 9; p++)
        {
            var step = model.Forward(ids.narrow(1, p, 1), cache: cache);
            Assert.True(step.select(1, 0).allclose(full.select(1, p), rtol: 1e-4, atol: 1e-5), $"cached position {p} differs");
        }
        using var wide = Model(cfg with { SlidingWindow = 9 });
        using var none = Model(cfg with { SlidingWindow = null });
        Assert.True(wide.Forward(ids).allclose(none.Forward(ids), rtol: 1e-6, atol: 1e-6));
    }

    /// Packed rows under a window: each document, with its own positions, gives the logits it gives alone.
    [Fact]
    public void PackedDocumentsKeepTheirWindowsApart()
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var cfg = KnownConfigs.Get("tiny") with { ModelType = "mistral", SlidingWindow = 3 };
        using var model = Model(cfg);
        var gen = new torch.Generator(8);
        var a = randint(0, cfg.VocabSize, new long[] { 1, 5 }, generator: gen);
        var b = randint(0, cfg.VocabSize, new long[] { 1, 7 }, generator: gen);
        var ids = cat(new[] { a, b }, 1);
        var docs = cat(new[] { zeros(1, 5, dtype: ScalarType.Int64), ones(1, 7, dtype: ScalarType.Int64) }, 1);
        var pos = cat(new[] { arange(5, dtype: ScalarType.Int64), arange(7, dtype: ScalarType.Int64) }).unsqueeze(0);
        var packed = model.Forward(ids, pos, docs);
        Assert.True(packed.narrow(1, 0, 5).allclose(model.Forward(a), rtol: 1e-4, atol: 1e-5), "first document differs from itself alone");
        Assert.True(packed.narrow(1, 5, 7).allclose(model.Forward(b), rtol: 1e-4, atol: 1e-5), "second document differs from itself alone");
    }
}
