using LoraLab.Adapters;
using LoraLab.Demo;
using LoraLab.Diagnostics;
using LoraLab.Evaluation;
using LoraLab.ModelFiles;
using LoraLab.Tests.Cli;
using LoraLab.Tests.Guardrails;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Inputs;

/// NaN/Inf in a base, adapter or checkpoint is found at load and named by tensor; generation never samples from
/// non-finite logits (it printed NUL bytes with exit 0).
[Collection("cli")]
public class NonFiniteWeightTests
{
    static string DemoBase => Path.Combine(DemoAssets.Locate(), DemoAssets.BaseFolder);
    const string Poisoned = "model.layers.0.mlp.up_proj.weight";

    /// The demo base with 12 values of one tensor made NaN (8) and Inf (4).
    static string PoisonedBase() => ModelCopies.Rewrite(DemoBase, (n, t) =>
    {
        var c = t.clone();
        if (n == Poisoned)
        {
            using var _ = no_grad();
            var flat = c.view(-1);
            for (int i = 0; i < 12; i++) flat[i * 7] = tensor(i < 8 ? float.NaN : float.PositiveInfinity).to(c.dtype);
        }
        return c;
    });

    /// The check reads the exponent bits in place (fp32, fp16, bf16 on the CPU) and falls back to torch.isfinite
    /// elsewhere: one bad value anywhere (vector body or scalar tail) is found, and the largest finite one passes.
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    public void EveryPositionAndFloatTypeIsChecked(ScalarType dtype)
    {
        using var _ = no_grad();
        double largest = dtype switch { ScalarType.Float32 => float.MaxValue, ScalarType.Float16 => 65504, _ => 3.38e38 };
        foreach (int n in new[] { 1, 7, 64, 1001 })
        {
            using var ok = full(new long[] { n }, largest, dtype);
            NonFinite.Check(ok, "f", "t");
            using var transposed = full(new long[] { 2, n }, largest, dtype).t(); // not contiguous: torch.isfinite
            NonFinite.Check(transposed, "f", "t");
            foreach (int at in new[] { 0, n / 2, n - 1 })
                foreach (double bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
                {
                    using var t = zeros(new long[] { n }, dtype);
                    t[at] = tensor(bad).to(dtype);
                    Assert.Equal("f: tensor t has 1 NaN/Inf values", Assert.Throws<UserException>(() => NonFinite.Check(t, "f", "t")).Message);
                    using var wide = t.reshape(1, n).expand(3, n).t(); // a view of it, read by torch.isfinite
                    Assert.Equal("f: tensor t has 3 NaN/Inf values", Assert.Throws<UserException>(() => NonFinite.Check(wide, "f", "t")).Message);
                }
        }
    }

    [Fact]
    public void ABaseWithNaNIsRefusedNamingTheTensor()
    {
        var dir = PoisonedBase();
        var e = Assert.Throws<UserException>(() => ModelLoader.Load(dir));
        Assert.Equal($"{dir}/model.safetensors: tensor {Poisoned} has 12 NaN/Inf values", e.Message);
    }

    [Fact]
    public void GenerateOnANaNBaseIsAOneLineErrorWithoutNulBytes()
    {
        var dir = PoisonedBase();
        var (code, stdout, err) = CliRunner.Run("generate", "--model", dir, "--prompt", "hello", "--max-new-tokens", "4");
        Assert.Equal(2, code);
        Assert.Equal($"error: {dir}/model.safetensors: tensor {Poisoned} has 12 NaN/Inf values", err.Trim());
        Assert.DoesNotContain('\0', stdout);
    }

    [Fact]
    public void AnAdapterWithNaNIsRefusedNamingTheTensor()
    {
        var adapter = TempDir.New();
        var cfg = new LoraConfig { R = 4, Alpha = 8, TargetModules = ["q_proj", "v_proj"] };
        using (var loaded = ModelLoader.Load(DemoBase, new LoadOptions { LoadTokenizer = false }))
        {
            LoraInjector.Apply(loaded.Model, cfg, seed: 1);
            using (no_grad()) LoraInjector.Adapters(loaded.Model)[1].lora_B.weight![0, 0] = float.NaN;
            PeftFormat.Save(adapter, loaded.Model, cfg);
        }
        using var fresh = ModelLoader.Load(DemoBase, new LoadOptions { LoadTokenizer = false });
        var e = Assert.Throws<UserException>(() => PeftFormat.Load(adapter, fresh.Model));
        Assert.Equal($"{adapter}/adapter_model.safetensors: tensor base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight has 1 NaN/Inf values", e.Message);
    }

    [Fact]
    public void GenerationStopsOnNonFiniteLogitsInsteadOfSampling()
    {
        using var m = SelfChecks.TinyModel();
        using (no_grad()) m.model.norm.weight[0] = float.NaN;
        var e = Assert.Throws<UserException>(() => TextGenerator.Generate(m, [1, 2, 3], new SamplingOptions { MaxNewTokens = 3 }));
        Assert.StartsWith("the model's logits are NaN/Inf at generated token 1", e.Message);
    }
}
