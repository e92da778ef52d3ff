using System.Text.Json;
using LoraLab.Adapters;
using LoraLab.Models;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// Adapters written by the PyTorch reference (LoRA computed as PEFT computes it) reproduce its losses.
/// Besides ../shared/fixtures/tiny-llama-lora, two more were made for these tests, from tests/LoraLab.Tests/Fixtures:
///   python3 ../shared/bench/peer_llama.py export-adapter tiny-llama-lora-all --cfg tiny --seed 7 \
///       --targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj --rank 8 --alpha 16
///   python3 ../shared/bench/peer_llama.py export-adapter tiny-llama-lora-mlp-r2 --cfg tiny --seed 7 \
///       --targets gate_proj,down_proj --rank 2 --alpha 3
public class PeftFixtureTests
{
    public static IEnumerable<object[]> Fixtures() => new[]
    {
        new object[] { "shared" }, new object[] { "tiny-llama-lora-all" }, new object[] { "tiny-llama-lora-mlp-r2" },
    };

    static string Dir(string name) => name == "shared" ? LoraTestModels.SharedAdapterDir : LoraTestModels.LocalFixture(name);

    [SharedTheory]
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

    [SharedFact]
    public void SharedAdapterConfigIsRead()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        var cfg = PeftFormat.ReadConfig(LoraTestModels.SharedAdapterDir);
        Assert.Equal(4, cfg.R);
        Assert.Equal(8.0, cfg.Alpha);
        Assert.Equal(new[] { "q_proj", "v_proj" }, cfg.TargetModules);
        Assert.False(cfg.UseRslora);
        Assert.Null(cfg.LayersToTransform);
        using var m = LoraTestModels.LoadTiny();
        PeftFormat.Load(LoraTestModels.SharedAdapterDir, m.Model);
        Assert.All(LoraInjector.Adapters(m.Model), a => Assert.Equal(2.0, a.Scaling));
    }

    [SharedFact]
    public void CliEvalWithAdapterMatchesReference()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        using var ids = LoraTestModels.GoldenIds(LoraTestModels.SharedAdapterDir, out double golden);
        var scratch = TempDir.New("eval");
        var data = Path.Combine(scratch, "eval.jsonl");
        var flat = ids.data<long>().ToArray();
        long t = ids.shape[1];
        File.WriteAllLines(data, Enumerable.Range(0, (int)ids.shape[0]).Select(i => JsonSerializer.Serialize(new { input_ids = flat.Skip(i * (int)t).Take((int)t) })));
        try
        {
            var (rc, stdout, stderr) = CliRunner.RunProcess("eval", "--model", LoraTestModels.TinyDir, "--adapter", LoraTestModels.SharedAdapterDir, "--data", data, "--json");
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

    [SharedFact]
    public void CliGenerateWithAdapterMatchesLibrary()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        var prompt = new[] { 1, 5, 9, 300 };
        var (rc, stdout, stderr) = CliRunner.RunProcess("generate", "--model", LoraTestModels.TinyDir, "--adapter", LoraTestModels.SharedAdapterDir,
            "--prompt-ids", string.Join(",", prompt), "--max-new-tokens", "12");
        Assert.True(rc == 0, stderr);
        using var m = LoraTestModels.LoadTiny();
        var plain = Evaluation.TextGenerator.Generate(m.Model, prompt, new Evaluation.SamplingOptions { MaxNewTokens = 12 }).Tokens;
        PeftFormat.Load(LoraTestModels.SharedAdapterDir, m.Model);
        var adapted = Evaluation.TextGenerator.Generate(m.Model, prompt, new Evaluation.SamplingOptions { MaxNewTokens = 12 }).Tokens;
        Assert.Equal(string.Join(" ", adapted), stdout.Trim());
        Assert.NotEqual(plain, adapted); // greedy decoding sees the adapter
    }

    [SharedFact]
    public void OlderKeysWithDefaultAdapterNameAreAccepted()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        var dir = TempDir.New();
        try
        {
            File.Copy(Path.Combine(LoraTestModels.SharedAdapterDir, PeftFormat.ConfigFile), Path.Combine(dir, PeftFormat.ConfigFile));
            RewriteWeights(LoraTestModels.SharedAdapterDir, dir, (name, t) => (name.Replace(".lora_A.weight", ".lora_A.default.weight").Replace(".lora_B.weight", ".lora_B.default.weight"), t));
            using var m = LoraTestModels.LoadTiny();
            using var ids = LoraTestModels.GoldenIds(LoraTestModels.SharedAdapterDir, out double golden);
            PeftFormat.Load(dir, m.Model);
            Assert.Equal(golden, LoraTestModels.Loss(m.Model, ids), 1e-4);
        }
        finally { Directory.Delete(dir, true); }
    }

    [SharedFact]
    public void MismatchesNameTheOffendingTensor()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        var dir = TempDir.New();
        try
        {
            File.Copy(Path.Combine(LoraTestModels.SharedAdapterDir, PeftFormat.ConfigFile), Path.Combine(dir, PeftFormat.ConfigFile));
            const string victim = "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight";
            // wrong shape
            RewriteWeights(LoraTestModels.SharedAdapterDir, dir, (n, t) => (n, n == victim ? t.narrow(0, 0, 16) : t));
            AssertLoadFails(dir, victim, "[16, 4]");
            // module the base model does not have
            RewriteWeights(LoraTestModels.SharedAdapterDir, dir, (n, t) => (n.Replace("layers.1.", "layers.5."), t));
            AssertLoadFails(dir, "base_model.model.model.layers.5.self_attn.q_proj.lora_A.weight", "does not have");
            // a module the config targets but the file lacks
            RewriteWeights(LoraTestModels.SharedAdapterDir, dir, (n, t) => n == victim ? (null, t) : (n, t));
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
