using System.Text.Json.Nodes;
using LoraLab.Adapters;
using LoraLab.Configuration;
using LoraLab.ModelFiles;
using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.Adapters;

/// `train --alpha-pattern`: the module it names is scaled by its own alpha over its own rank, in training and in the
/// saved adapter (adapter_config.json's alpha_pattern), and run.yaml keeps the setting.
[Collection("cli")]
public class AlphaPatternTrainTests
{
    const string Q0 = @"layers\.0\.self_attn\.q_proj";

    [Fact]
    public void AModuleMatchedByAlphaPatternIsScaledByItsAlphaOverItsRank()
    {
        var outDir = Path.Combine(TempDir.New(), "run");
        var (code, stdout, err) = CliRunner.Run("train", "--model", LoraTestModels.TinyChatModel(), "--data", LoraTestModels.Instructions,
            "--out", outDir, "--targets", "qv", "--r", "4", "--alpha", "8", "--rank-pattern", $"{Q0}=2", "--alpha-pattern", $"{Q0}=6",
            "--batch-size", "2", "--micro-batch-size", "2", "--max-seq-length", "64", "--max-steps", "1", "--threads", "2", "--stop-rate-prompts", "0");
        Assert.True(code == 0, err + stdout);

        var adapter = Path.Combine(outDir, "adapter");
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(adapter, PeftFormat.ConfigFile)))!.AsObject();
        Assert.Equal(6.0, json["alpha_pattern"]![Q0]!.GetValue<double>());
        Assert.Equal(2, json["rank_pattern"]![Q0]!.GetValue<int>());

        // run.yaml keeps it, and the config it reads back scales q_proj of layer 0 by 6/2 in training, the rest by 8/4
        var run = RunConfig.LoadYaml(Path.Combine(outDir, RunFolder.RunYaml));
        Assert.Equal(new Dictionary<string, double> { [Q0] = 6 }, run.AlphaPattern);
        using (var fresh = LoraTestModels.RandomTiny())
        {
            RunSetup.Trainable(fresh, RunSetup.Lora(run, null), 1);
            AssertScalings(LoraInjector.Adapters(fresh));
        }
        using var loaded = ModelLoader.Load(LoraTestModels.TinyChatModel(), new LoadOptions { LoadTokenizer = false });
        PeftFormat.Load(adapter, loaded.Model);
        AssertScalings(LoraInjector.Adapters(loaded.Model));
    }

    static void AssertScalings(IEnumerable<LoraAdapter> adapters)
    {
        var all = adapters.ToList();
        Assert.Equal(4, all.Count);
        Assert.All(all, a => Assert.Equal(a.Path == "model.layers.0.self_attn.q_proj" ? 3.0 : 2.0, a.Scaling));
    }
}
