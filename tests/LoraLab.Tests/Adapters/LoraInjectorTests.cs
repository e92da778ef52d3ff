using LoraLab.Adapters;
using LoraLab.Models;
using LoraLab.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// Injection: which modules get adapters, with what rank/alpha/scaling, initialisation, and frozen base weights.
public class LoraInjectorTests
{
    static string[] Wrapped(CausalLM m) => LoraInjector.Adapters(m).Select(a => a.Path).ToArray();

    [Theory]
    [InlineData("qv", false, new[] { "q_proj", "v_proj" })]
    [InlineData("kv", false, new[] { "k_proj", "v_proj" })]
    [InlineData("attn", false, new[] { "q_proj", "k_proj", "v_proj", "o_proj" })]
    [InlineData("mlp", false, new[] { "gate_proj", "up_proj", "down_proj" })]
    [InlineData("all", false, new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" })]
    [InlineData("all", true, new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head" })]
    [InlineData("q_proj,down_proj", false, new[] { "q_proj", "down_proj" })]
    [InlineData("qv,mlp", false, new[] { "q_proj", "v_proj", "gate_proj", "up_proj", "down_proj" })]
    public void PresetsSelectTheExpectedModules(string spec, bool head, string[] modules)
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        using var m = LoraTestModels.RandomTiny();
        var summary = LoraInjector.Apply(m, new LoraConfig { TargetModules = LoraTargets.Parse(spec, head) }, seed: 1);
        var expected = m.Projections().Where(p => modules.Contains(p.Module)).Select(p => p.Path).ToArray();
        Assert.Equal(expected, Wrapped(m));
        Assert.Equal(expected, summary.Sites.Select(s => s.Path).ToArray());
        var names = m.named_parameters().Select(p => p.name).ToHashSet();
        Assert.Equal(modules.Contains("q_proj"), names.Contains("model.layers.1.self_attn.q_proj.lora_A.weight"));
        Assert.Equal(modules.Contains("lm_head"), names.Contains("lm_head.lora_B.weight"));
    }

    [Fact]
    public void ParameterNamesArePeftKeysWithoutPrefix()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        using var m = LoraTestModels.RandomTiny();
        LoraInjector.Apply(m, new LoraConfig { TargetModules = LoraTargets.Parse("qv", includeHead: true) }, seed: 1);
        var trainable = m.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToArray();
        Assert.Equal(10, trainable.Length);
        Assert.Contains("model.layers.0.self_attn.q_proj.lora_A.weight", trainable);
        Assert.Contains("model.layers.1.self_attn.v_proj.lora_B.weight", trainable);
        Assert.Contains("lm_head.lora_A.weight", trainable);
        var a = m.named_parameters().Single(p => p.name == "model.layers.0.self_attn.q_proj.lora_A.weight").parameter;
        var b = m.named_parameters().Single(p => p.name == "model.layers.0.self_attn.q_proj.lora_B.weight").parameter;
        Assert.Equal(new long[] { 8, 64 }, a.shape);
        Assert.Equal(new long[] { 64, 8 }, b.shape);
    }

    [Fact]
    public void LoraHeadAddsLmHeadAndIsRefusedWhenTied()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        using var m = LoraTestModels.RandomTiny();
        LoraInjector.Apply(m, new LoraConfig { TargetModules = LoraTargets.Parse("qv"), LoraHead = true }, seed: 1);
        Assert.Equal("lm_head", Wrapped(m)[^1]);
        Assert.Equal(5, Wrapped(m).Length);

        using var tied = new CausalLM(m.Config with { TieWordEmbeddings = true }, ScalarType.Float32, CPU);
        var e = Assert.Throws<UserException>(() => LoraInjector.Apply(tied, new LoraConfig { LoraHead = true }, seed: 1));
        Assert.Contains("tie_word_embeddings", e.Message);
    }

    [Fact]
    public void UnknownTargetListsAvailableModules()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        var e = Assert.Throws<UserException>(() => LoraTargets.Parse("q_proj,query_key_value"));
        Assert.Contains("query_key_value", e.Message);
        foreach (var name in new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head", "attn", "mlp", "all" })
            Assert.Contains(name, e.Message);
        using var m = LoraTestModels.RandomTiny();
        var e2 = Assert.Throws<UserException>(() => LoraInjector.Apply(m, new LoraConfig { TargetModules = new[] { "c_attn" } }, 1));
        Assert.Contains("c_attn", e2.Message);
        Assert.Contains("gate_proj", e2.Message);
        Assert.Empty(LoraInjector.Adapters(m));
    }

    [Fact]
    public void RankAlphaPatternsAndLayersToTransform()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        using var m = LoraTestModels.RandomTiny();
        var cfg = new LoraConfig
        {
            R = 4, Alpha = 8, TargetModules = LoraTargets.Parse("all"),
            RankPattern = new Dictionary<string, int> { ["model.layers.1.mlp.down_proj"] = 2, ["q_proj"] = 6, ["0"] = 3 },
            AlphaPattern = new Dictionary<string, double> { [@"layers\.1\.self_attn\.(k|v)_proj"] = 32 },
        };
        LoraInjector.Apply(m, cfg, seed: 1);
        var byPath = LoraInjector.Adapters(m).ToDictionary(a => a.Path);
        Assert.Equal(14, byPath.Count);
        Assert.Equal(2, byPath["model.layers.1.mlp.down_proj"].R);          // full path key
        Assert.Equal(6, byPath["model.layers.1.self_attn.q_proj"].R);       // suffix key
        Assert.Equal(6, byPath["model.layers.0.self_attn.q_proj"].R);       // earlier key wins over the layer index
        Assert.Equal(3, byPath["model.layers.0.mlp.up_proj"].R);            // layer-index key
        Assert.Equal(4, byPath["model.layers.1.mlp.up_proj"].R);            // default
        Assert.Equal(32, byPath["model.layers.1.self_attn.k_proj"].Alpha);  // regex key
        Assert.Equal(8, byPath["model.layers.0.self_attn.k_proj"].Alpha);
        Assert.Equal(32.0 / 4, byPath["model.layers.1.self_attn.v_proj"].Scaling, 12);
        Assert.Equal(new long[] { 2, 172 }, byPath["model.layers.1.mlp.down_proj"].lora_A.weight!.shape);
        // a key must match a dot-aligned suffix: "proj" alone matches nothing
        Assert.Equal(8, new LoraConfig { R = 8, RankPattern = new Dictionary<string, int> { ["proj"] = 1 } }.RankFor("model.layers.0.self_attn.q_proj", 0));

        using var m2 = LoraTestModels.RandomTiny();
        LoraInjector.Apply(m2, new LoraConfig { TargetModules = LoraTargets.Parse("qv", true), LayersToTransform = new[] { 1 } }, seed: 1);
        Assert.Equal(new[] { "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj" }, Wrapped(m2)); // lm_head has no layer: left out, as in PEFT

        using var m3 = LoraTestModels.RandomTiny();
        Assert.Throws<UserException>(() => LoraInjector.Apply(m3, new LoraConfig { LayersToTransform = new[] { 7 } }, seed: 1));
    }

    [Fact]
    public void InitIsPeftDefaultAndReproducible()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        using var m = LoraTestModels.RandomTiny();
        LoraInjector.Apply(m, new LoraConfig { R = 16, TargetModules = LoraTargets.Parse("all") }, seed: 42);
        foreach (var a in LoraInjector.Adapters(m))
        {
            Assert.Equal(ScalarType.Float32, a.lora_A.weight!.dtype);
            Assert.Equal(0.0, a.lora_B.weight!.abs().max().item<float>());
            double bound = 1 / Math.Sqrt(a.Base.InFeatures);
            Assert.True(a.lora_A.weight!.abs().max().item<float>() <= bound);
            // U(-b, b) has std b/sqrt(3); with ≥ 1024 samples the estimate is within 10%
            double std = a.lora_A.weight!.std().item<float>();
            Assert.InRange(std, 0.9 * bound / Math.Sqrt(3), 1.1 * bound / Math.Sqrt(3));
        }
        using var again = LoraTestModels.RandomTiny();
        LoraInjector.Apply(again, new LoraConfig { R = 16, TargetModules = LoraTargets.Parse("all") }, seed: 42);
        foreach (var (x, y) in LoraInjector.Adapters(m).Zip(LoraInjector.Adapters(again)))
            Assert.True(LoraTestModels.Same(x.lora_A.weight!, y.lora_A.weight!));
        using var other = LoraTestModels.RandomTiny();
        LoraInjector.Apply(other, new LoraConfig { R = 16, TargetModules = LoraTargets.Parse("all") }, seed: 43);
        Assert.False(LoraTestModels.Same(LoraInjector.Adapters(m)[0].lora_A.weight!, LoraInjector.Adapters(other)[0].lora_A.weight!));
    }

    [Fact]
    public void GaussianInitHasStdOneOverR()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        using var m = LoraTestModels.RandomTiny();
        LoraInjector.Apply(m, new LoraConfig { R = 4, Init = LoraInit.Gaussian, TargetModules = LoraTargets.Parse("mlp") }, seed: 7);
        using var all = cat(LoraInjector.Adapters(m).Select(a => a.lora_A.weight!.flatten()).ToArray());
        Assert.InRange(all.std().item<float>(), 0.95 * 0.25, 1.05 * 0.25);
        Assert.InRange(all.mean().item<float>(), -0.01, 0.01);
        Assert.All(LoraInjector.Adapters(m), a => Assert.Equal(0.0, a.lora_B.weight!.abs().max().item<float>()));
    }

    [Fact]
    public void RsLoraScalesByAlphaOverSqrtR()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        using var m = LoraTestModels.RandomTiny();
        LoraInjector.Apply(m, new LoraConfig { R = 16, Alpha = 8, UseRslora = true }, seed: 1);
        Assert.All(LoraInjector.Adapters(m), a => Assert.Equal(8 / 4.0, a.Scaling, 12));
        LoraTestModels.RandomizeB(m);
        var a0 = LoraInjector.Adapters(m)[0];
        using var x = randn(3, 64, generator: new TorchSharp.torch.Generator(9));
        using var _ = no_grad();
        using var delta = a0.Delta(x);
        using var manual = x.matmul(a0.lora_A.weight!.t()).matmul(a0.lora_B.weight!.t()).mul(2.0);
        Assert.True(delta.allclose(manual, rtol: 1e-5, atol: 1e-6));
        using var y = a0.Base.forward(x);
        using var yBase = a0.Base.BaseForward(x);
        Assert.True(y.allclose(yBase.add(manual), rtol: 1e-5, atol: 1e-6));
    }

    /// The projection adds the adapter into the base output in place and hands backward a contiguous Bᵀ: output and
    /// every gradient must equal plain autograd through x Wᵀ + s (x Aᵀ) Bᵀ, for 3-D (batch, time, in) and 2-D rows.
    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public void InPlaceAdapterSumHasPlainGradients(int dims)
    {
        using var tensors = NewDisposeScope();
        using var m = LoraTestModels.RandomTiny();
        m.train();
        LoraInjector.Apply(m, new LoraConfig { R = 4, Alpha = 8, TargetModules = LoraTargets.Parse("all") }, seed: 1);
        LoraTestModels.RandomizeB(m);
        var ad = LoraInjector.Adapters(m).First(a => a.Path.EndsWith("mlp.gate_proj"));
        var gen = new TorchSharp.torch.Generator(4);
        var x0 = dims == 3 ? randn(2, 5, ad.Base.InFeatures, generator: gen) : randn(7, ad.Base.InFeatures, generator: gen);
        var gy = randn(x0.shape[..^1].Append(ad.Base.OutFeatures).ToArray(), generator: gen);

        var x = x0.clone().requires_grad_();
        var y = ad.Base.forward(x);
        y.backward(new List<Tensor> { gy });
        var (gA, gB) = (ad.lora_A.weight!.grad!.clone(), ad.lora_B.weight!.grad!.clone());

        var x2 = x0.clone().requires_grad_();
        var a = ad.lora_A.weight!.detach().clone().requires_grad_();
        var b = ad.lora_B.weight!.detach().clone().requires_grad_();
        var plain = x2.matmul(ad.Base.Weight!.t()).add(x2.matmul(a.t()).matmul(b.t()).mul(ad.Scaling));
        plain.backward(new List<Tensor> { gy });

        Assert.Equal(plain.shape, y.shape);
        foreach (var (got, want, what) in new[] { (y, plain, "y"), (x.grad!, x2.grad!, "grad x"), (gA, a.grad!, "grad A"), (gB, b.grad!, "grad B") })
            Assert.True(got.allclose(want, rtol: 1e-5, atol: 1e-5), $"{what}: max diff {(got - want).abs().max().item<float>()}");
        Assert.True(ad.lora_B.weight!.grad!.is_contiguous(), "B's gradient keeps B's layout");
    }

    [Fact]
    public void FreshAdapterLeavesOutputUnchanged()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        using var m = LoraTestModels.RandomTiny();
        using var ids = LoraTestModels.RandomIds();
        using var before = LoraTestModels.Logits(m, ids);
        LoraInjector.Apply(m, new LoraConfig { TargetModules = LoraTargets.Parse("all", true) }, seed: 1);
        using var after = LoraTestModels.Logits(m, ids);
        Assert.True(LoraTestModels.Same(before, after));
    }

    [Fact]
    public void DropoutOnlyInTrainingMode()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        using var m = LoraTestModels.RandomTiny();
        LoraInjector.Apply(m, new LoraConfig { Dropout = 0.5, TargetModules = LoraTargets.Parse("qv") }, seed: 1);
        LoraTestModels.RandomizeB(m);
        var a = LoraInjector.Adapters(m)[0];
        Assert.NotNull(a.lora_dropout);
        using var x = randn(4, 64, generator: new TorchSharp.torch.Generator(2));
        using var _ = no_grad();
        using var e1 = a.Delta(x);
        using var e2 = a.Delta(x);
        Assert.True(LoraTestModels.Same(e1, e2)); // eval: deterministic, no dropout
        m.train();
        using var t1 = a.Delta(x);
        Assert.False(t1.allclose(e1));
        m.eval();
        using var e3 = a.Delta(x);
        Assert.True(LoraTestModels.Same(e3, e1));
    }

    [Fact]
    public void Bf16BaseKeepsFloat32Adapter()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        using var m = LoraTestModels.RandomTiny(dtype: ScalarType.BFloat16);
        LoraInjector.Apply(m, new LoraConfig(), seed: 1);
        LoraTestModels.RandomizeB(m);
        var a = LoraInjector.Adapters(m)[0];
        Assert.Equal(ScalarType.Float32, a.lora_A.weight!.dtype);
        using var x = randn(2, 64, generator: new TorchSharp.torch.Generator(4)).to(ScalarType.BFloat16);
        using var _ = no_grad();
        using var d = a.Delta(x);
        Assert.Equal(ScalarType.BFloat16, d.dtype);
        using var ids = LoraTestModels.RandomIds();
        using var logits = m.Forward(ids);
        Assert.Equal(ScalarType.BFloat16, logits.dtype);
    }

    [Fact]
    public void BaseStaysFrozenUnderAdamW()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        using var m = LoraTestModels.RandomTiny();
        var summary = LoraInjector.Apply(m, new LoraConfig { TargetModules = LoraTargets.Parse("all", true) }, seed: 1);
        var before = LoraTestModels.CloneBase(m);
        var trainable = m.parameters().Where(p => p.requires_grad).ToList();
        Assert.Equal(summary.TrainableParameters, trainable.Sum(p => p.numel()));
        Assert.Equal(LoraInjector.TrainableParameters(m).Count, trainable.Count);
        var bBefore = LoraInjector.Adapters(m).Select(a => a.lora_B.weight!.detach().clone()).ToList();

        m.train();
        using var opt = torch.optim.AdamW(trainable, lr: 1e-2);
        using var ids = LoraTestModels.RandomIds(2, 24);
        for (int step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            opt.zero_grad();
            var loss = Losses.NextTokenMean(m.Forward(ids), ids);
            loss.backward();
            opt.step();
        }
        foreach (var (name, p) in m.named_parameters())
        {
            bool lora = name.Contains(".lora_");
            Assert.Equal(lora, p.requires_grad);
            if (!lora) Assert.True(p.grad is null, $"{name} has a gradient");
        }
        foreach (var (name, t) in m.BaseTensors())
            Assert.True(LoraTestModels.Same(before[name], t), $"{name} changed");
        Assert.Contains(LoraInjector.Adapters(m).Zip(bBefore), x => !LoraTestModels.Same(x.First.lora_B.weight!, x.Second));
        foreach (var t in before.Values.Concat(bBefore)) t.Dispose();
    }
}
