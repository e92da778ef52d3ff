using LoraLab.ModelFiles;
using System.Diagnostics;
using System.Text.Json.Nodes;
using LoraLab.Adapters;
using LoraLab.Demo;
using LoraLab.Models;
using LoraLab.Tests.Cli;
using Xunit;

namespace LoraLab.Tests.Inputs;

/// The LoRA rank must fit the smallest targeted projection (r ≤ min(in, out)); it is checked from config.json's
/// shapes before any weight or adapter is allocated, for `train --r` and for an adapter's adapter_config.json.
[Collection("cli")]
public class LoraRankTests
{
    static string Demo(string part) => Path.Combine(DemoAssets.Locate(), part);

    [Theory]
    [InlineData(300)]
    [InlineData(100_000)]
    public void TrainRefusesARankAboveTheSmallestTargetedLayer(int r)
    {
        var outDir = Path.Combine(TempDir.New(), "run");
        var clock = Stopwatch.StartNew();
        var (code, _, err) = CliRunner.Run("train", "--model", Demo(DemoAssets.BaseFolder), "--data", Path.Combine(Demo(DemoAssets.DataFolder), DemoAssets.TrainFile),
            "--out", outDir, "--r", r.ToString(), "--max-steps", "1", "--threads", "2");
        Assert.Equal(2, code);
        // the demo base: hidden 192, 2 KV heads of 32 → k_proj and v_proj are 192 → 64
        Assert.Equal($"error: --r {r} is larger than k_proj's smaller side (64); use r ≤ 64", err.Trim());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    [Fact]
    public void TheLargestFittingRankIsAccepted()
    {
        var cfg = ModelConfig.Load(Path.Combine(Demo(DemoAssets.BaseFolder), "config.json"));
        Assert.All(LoraSite.Plan(cfg, new LoraConfig { R = 64, TargetModules = LoraTargets.Parse("all") }), s => Assert.Equal(64, s.R));
        var e = Assert.Throws<UserException>(() => LoraSite.Plan(cfg, new LoraConfig { R = 65, TargetModules = LoraTargets.Parse("qv") }));
        Assert.Equal("r 65 is larger than v_proj's smaller side (64); use r ≤ 64", e.Message);
        Assert.NotEmpty(LoraSite.Plan(cfg, new LoraConfig { R = 192, TargetModules = LoraTargets.Parse("mlp") })); // 192 ↔ 512
        e = Assert.Throws<UserException>(() => LoraSite.Plan(cfg, new LoraConfig { R = 193, TargetModules = LoraTargets.Parse("mlp") }));
        Assert.Equal("r 193 is larger than gate_proj's smaller side (192); use r ≤ 192", e.Message);
    }

    [Fact]
    public void AnAdapterConfigWithAnAbsurdRankIsRefusedBeforeAllocating()
    {
        var adapter = TempDir.New();
        var cfg = new LoraConfig { R = 4, Alpha = 8, TargetModules = ["q_proj", "v_proj"] };
        using (var loaded = ModelLoader.Load(Demo(DemoAssets.BaseFolder), new LoadOptions { LoadTokenizer = false }))
        {
            LoraInjector.Apply(loaded.Model, cfg, seed: 1);
            PeftFormat.Save(adapter, loaded.Model, cfg);
        }
        var configPath = Path.Combine(adapter, PeftFormat.ConfigFile);
        var json = JsonNode.Parse(File.ReadAllText(configPath))!.AsObject();
        json["r"] = 100_000;
        File.WriteAllText(configPath, json.ToJsonString());

        using var fresh = ModelLoader.Load(Demo(DemoAssets.BaseFolder), new LoadOptions { LoadTokenizer = false });
        var e = Assert.Throws<UserException>(() => PeftFormat.Load(adapter, fresh.Model));
        Assert.Equal($"{configPath}: r 100000 is larger than v_proj's smaller side (64); use r ≤ 64", e.Message);
        Assert.Empty(LoraInjector.Adapters(fresh.Model));
    }
}
