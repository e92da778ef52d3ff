using LoraLab.ModelFiles;
using System.Text.Json;
using LoraLab.Adapters;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// Adapters written by the PyTorch reference (LoRA computed as PEFT computes it) reproduce its losses.
/// The three adapters for tiny-llama in tests/LoraLab.Tests/Fixtures (q,v r 4; all linear r 8; gate/down r 2) are made by
/// tools/make_reference_models.py.
public class PeftFixtureTests
{
    public static IEnumerable<object[]> Fixtures() => new[]
    {
        new object[] { "tiny-llama-lora" }, new object[] { "tiny-llama-lora-all" }, new object[] { "tiny-llama-lora-mlp-r2" },
    };

    static string Dir(string name) => RepoFixtures.Path_(name);

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void LossWithAdapterMatchesReference(string fixture)
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        var dir = Dir(fixture);
        using var m = LoraTestModels.LoadTiny();
        using var ids = LoraTestModels.GoldenIds(dir, out double golden);
        using var baseLogits = LoraTestModels.Logits(m.Model, ids);
        var cfg = PeftFormat.Load(dir, m.Model);
        Assert.Equal(golden, LoraTestModels.Loss(m.Model, ids), 1e-4);
        using var logits = LoraTestModels.Logits(m.Model, ids);
        Assert.True(logits.sub(baseLogits).abs().max().item<float>() > 1e-2, "the adapter should change the logits");
        Assert.Equal(cfg.TargetModules.Count * 2, LoraInjector.Adapters(m.Model).Count);
    }

    [Fact]
    public void TinyAdapterConfigIsRead()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        var cfg = PeftFormat.ReadConfig(LoraTestModels.TinyAdapterDir);
        Assert.Equal(4, cfg.R);
        Assert.Equal(8.0, cfg.Alpha);
        Assert.Equal(new[] { "q_proj", "v_proj" }, cfg.TargetModules);
        Assert.False(cfg.UseRslora);
        Assert.Null(cfg.LayersToTransform);
        using var m = LoraTestModels.LoadTiny();
        PeftFormat.Load(LoraTestModels.TinyAdapterDir, m.Model);
        Assert.All(LoraInjector.Adapters(m.Model), a => Assert.Equal(2.0, a.Scaling));
    }

    [Fact]
    public void CliEvalWithAdapterMatchesReference()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        using var ids = LoraTestModels.GoldenIds(LoraTestModels.TinyAdapterDir, out double golden);
        var scratch = TempDir.New("eval");
        var data = Path.Combine(scratch, "eval.jsonl");
        var flat = ids.data<long>().ToArray();
        long t = ids.shape[1];
        File.WriteAllLines(data, Enumerable.Range(0, (int)ids.shape[0]).Select(i => JsonSerializer.Serialize(new { input_ids = flat.Skip(i * (int)t).Take((int)t) })));
        try
        {
            var (rc, stdout, stderr) = CliRunner.RunProcess("eval", "--model", LoraTestModels.TinyDir, "--adapter", LoraTestModels.TinyAdapterDir, "--data", data, "--json");
            Assert.True(rc == 0, stderr);
            using var doc = JsonDocument.Parse(stdout);
            Assert.Equal(golden, doc.RootElement.GetProperty("loss").GetDouble(), 1e-4);
            Assert.Equal(64, doc.RootElement.GetProperty("tokens").GetInt64());

            var (rc2, _, err2) = CliRunner.RunProcess("eval", "--model", LoraTestModels.TinyDir, "--adapter", "/nonexistent/adapter", "--data", data);
            Assert.Equal(2, rc2);
            Assert.Contains("/nonexistent/adapter", err2);
        }
        finally { Directory.Delete(scratch, true); }
    }

    [Fact]
    public void CliGenerateWithAdapterMatchesLibrary()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        var prompt = new[] { 1, 5, 9, 300 };
        var (rc, stdout, stderr) = CliRunner.RunProcess("generate", "--model", LoraTestModels.TinyDir, "--adapter", LoraTestModels.TinyAdapterDir,
            "--prompt-ids", string.Join(",", prompt), "--max-new-tokens", "12");
        Assert.True(rc == 0, stderr);
        using var m = LoraTestModels.LoadTiny();
        var plain = Evaluation.TextGenerator.Generate(m.Model, prompt, new Evaluation.SamplingOptions { MaxNewTokens = 12 }).Tokens;
        PeftFormat.Load(LoraTestModels.TinyAdapterDir, m.Model);
        var adapted = Evaluation.TextGenerator.Generate(m.Model, prompt, new Evaluation.SamplingOptions { MaxNewTokens = 12 }).Tokens;
        Assert.Equal(string.Join(" ", adapted), stdout.Trim());
        Assert.NotEqual(plain, adapted); // greedy decoding sees the adapter
    }

    [Fact]
    public void OlderKeysWithDefaultAdapterNameAreAccepted()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        var dir = TempDir.New();
        try
        {
            File.Copy(Path.Combine(LoraTestModels.TinyAdapterDir, PeftFormat.ConfigFile), Path.Combine(dir, PeftFormat.ConfigFile));
            RewriteWeights(LoraTestModels.TinyAdapterDir, dir, (name, t) => (name.Replace(".lora_A.weight", ".lora_A.default.weight").Replace(".lora_B.weight", ".lora_B.default.weight"), t));
            using var m = LoraTestModels.LoadTiny();
            using var ids = LoraTestModels.GoldenIds(LoraTestModels.TinyAdapterDir, out double golden);
            PeftFormat.Load(dir, m.Model);
            Assert.Equal(golden, LoraTestModels.Loss(m.Model, ids), 1e-4);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void MismatchesNameTheOffendingTensor()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        var dir = TempDir.New();
        try
        {
            File.Copy(Path.Combine(LoraTestModels.TinyAdapterDir, PeftFormat.ConfigFile), Path.Combine(dir, PeftFormat.ConfigFile));
            const string victim = "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight";
            // wrong shape
            RewriteWeights(LoraTestModels.TinyAdapterDir, dir, (n, t) => (n, n == victim ? t.narrow(0, 0, 16) : t));
            AssertLoadFails(dir, victim, "[16, 4]");
            // module the base model does not have
            RewriteWeights(LoraTestModels.TinyAdapterDir, dir, (n, t) => (n.Replace("layers.1.", "layers.5."), t));
            AssertLoadFails(dir, "base_model.model.model.layers.5.self_attn.q_proj.lora_A.weight", "does not have");
            // a module the config targets but the file lacks
            RewriteWeights(LoraTestModels.TinyAdapterDir, dir, (n, t) => n == victim ? (null, t) : (n, t));
            AssertLoadFails(dir, victim, "missing");
        }
        finally { Directory.Delete(dir, true); }
    }

    static void AssertLoadFails(string dir, params string[] fragments)
    {
        using var m = LoraTestModels.LoadTiny();
        var e = Assert.Throws<UserException>(() => PeftFormat.Load(dir, m.Model));
        foreach (var f in fragments) Assert.Contains(f, e.Message);
        Assert.Empty(LoraInjector.Adapters(m.Model)); // checked before the model is touched
    }

    /// Copies an adapter's weights with names/tensors changed by `edit` (a null name drops the tensor).
    static void RewriteWeights(string from, string to, Func<string, Tensor, (string?, Tensor)> edit)
    {
        using var scope = NewDisposeScope(); // frees the read and edited tensors
        using var f = SafeTensorsFile.Open(Path.Combine(from, PeftFormat.WeightsFile));
        var tensors = f.Names.Select(n => edit(n, f.Read(n))).Where(x => x.Item1 is not null).Select(x => (x.Item1!, x.Item2)).ToList();
        SafeTensorsWriter.Save(Path.Combine(to, PeftFormat.WeightsFile), tensors);
    }
}
