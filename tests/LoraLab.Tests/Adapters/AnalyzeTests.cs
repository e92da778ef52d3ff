using LoraLab.Adapters;
using LoraLab.Adapters.Analysis;
using LoraLab.Cli.Commands;
using SkiaSharp;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// `loralab analyze` on an adapter whose ΔW has a known rank: k equal singular values per module (B's first k
/// columns orthonormal, the rest zero), k = 2 in layer 0 and 4 in layer 1, at r = 6.
[Collection("cli")]
public class AnalyzeTests
{
    static int KnownRank(int layer) => layer == 0 ? 2 : 4;

    static string KnownRankAdapter()
    {
        var dir = Path.Combine(TempDir.New("analyze"), "adapter");
        using var m = LoraTestModels.LoadTiny();
        var cfg = new LoraConfig { R = 6, Alpha = 12, TargetModules = LoraTargets.Parse("all", false) };
        LoraInjector.Apply(m.Model, cfg, seed: 2);
        var gen = new TorchSharp.torch.Generator(7);
        using (no_grad())
            foreach (var a in LoraInjector.Adapters(m.Model))
            {
                using var scope = NewDisposeScope();
                int k = KnownRank(int.Parse(a.Path.Split('.')[2]));
                var (qOut, _) = linalg.qr(randn(a.Base.OutFeatures, k, generator: gen));
                var (qIn, _) = linalg.qr(randn(a.Base.InFeatures, k, generator: gen));
                var b = zeros(a.Base.OutFeatures, 6);
                b.narrow(1, 0, k).copy_(qOut.mul(0.1));
                a.lora_B.weight!.copy_(b);
                a.lora_A.weight!.narrow(0, 0, k).copy_(qIn.t());
            }
        PeftFormat.Save(dir, m.Model, cfg);
        return dir;
    }

    [Fact]
    public void AKnownRankIsReportedForEveryModuleWithNormsAgainstTheBase()
    {
        using var scope = NewDisposeScope();
        var adapter = KnownRankAdapter();
        var modules = AdapterAnalyzer.Analyze(adapter, LoraTestModels.TinyDir);
        Assert.Equal(14, modules.Count);
        foreach (var m in modules)
        {
            Assert.Equal(KnownRank(m.Layer), m.Rank90);
            Assert.Equal(KnownRank(m.Layer), m.Rank99);
            Assert.All(m.SingularValues.Take(KnownRank(m.Layer)), s => Assert.Equal(0.2, s, 1e-6)); // s = 12/6 times 0.1
        }
        using var loaded = LoraTestModels.LoadTiny();
        PeftFormat.Load(adapter, loaded.Model);
        foreach (var a in LoraInjector.Adapters(loaded.Model))
        {
            using var d = a.DeltaWeight();
            var m = modules.Single(x => x.Path == a.Path);
            Assert.Equal(d.norm().item<float>(), m.Norm, 1e-5);
            Assert.Equal(d.norm().item<float>() / a.Base.Weight!.norm().item<float>(), m.RelativeToBase!.Value, 1e-5);
        }
    }

    [Fact]
    public void TheCommandWritesARankPatternAndAHeatMap()
    {
        var adapter = KnownRankAdapter();
        var outDir = Path.Combine(TempDir.New("analysis"), "out");
        var (code, stdout, stderr) = CliRunner.Run("analyze", adapter, "--out", outDir);
        Assert.True(code == 0, stderr);
        Assert.Contains("down_proj", stdout);

        var yaml = File.ReadAllText(Path.Combine(outDir, AnalyzeCommand.RankPatternFile));
        Assert.Contains("\nr: 4\nrank_pattern:\n  'layers\\.0\\.self_attn\\.q_proj': 2\n", yaml);
        Assert.Contains("rule); without alpha_pattern PEFT scales a module by alpha / its own rank, a rank-1 module by alpha/1.\nalpha: 8\nalpha_pattern:\n  'layers\\.0\\.self_attn\\.q_proj': 4\n", yaml);
        Assert.DoesNotContain("layers\\.1\\.", yaml);
        // the file is a train run config: the ranks it suggests are the ranks train gives each module, each scaled by 2
        var run = LoraLab.Configuration.RunConfig.LoadYaml(Path.Combine(outDir, AnalyzeCommand.RankPatternFile));
        using (var fresh = LoraTestModels.RandomTiny())
        {
            LoraLab.Training.RunSetup.Trainable(fresh, LoraLab.Training.RunSetup.Lora(run, null), 1);
            Assert.All(LoraInjector.Adapters(fresh), a => Assert.Equal((a.Path.Contains("layers.0.") ? 2 : 4, 2.0), (a.R, a.Scaling)));
        }
        var trained = Path.Combine(TempDir.New("analysis-train"), "run");
        (code, stdout, stderr) = CliRunner.Run("train", "--config", Path.Combine(outDir, AnalyzeCommand.RankPatternFile), "--model", LoraTestModels.TinyChatModel(),
            "--data", LoraTestModels.Instructions, "--out", trained, "--batch-size", "2", "--micro-batch-size", "2", "--max-seq-length", "64",
            "--max-steps", "1", "--threads", "2", "--stop-rate-prompts", "0");
        Assert.True(code == 0, stderr + stdout);
        var peft = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(trained, "adapter", PeftFormat.ConfigFile)))!;
        Assert.Equal((8.0, 4.0), (peft["lora_alpha"]!.GetValue<double>(), peft["alpha_pattern"]![@"layers\.0\.self_attn\.q_proj"]!.GetValue<double>()));

        using var png = SKBitmap.Decode(Path.Combine(outDir, EffectiveRankHeatmap.FileName));
        Assert.NotNull(png);
        Assert.True(png.Width >= 400 && png.Height >= 300, $"{png.Width}×{png.Height}");
        var colors = new HashSet<SKColor>();
        for (int y = 0; y < png.Height; y += 3)
            for (int x = 0; x < png.Width; x += 3) colors.Add(png.GetPixel(x, y));
        Assert.True(colors.Count > 20, $"only {colors.Count} colours: blank plot?");

        (code, _, stderr) = CliRunner.Run("analyze", adapter, "--out", outDir);
        Assert.Equal(2, code);
        Assert.Contains("not empty (pass --overwrite", stderr);
    }

    [Fact]
    public void TheSuggestedAlphaPatternKeepsEachPatternedModulesScaleAtTheFactor()
    {
        var s = new RankSuggestion(4, [("a", 1), ("b", 8)], []);
        Assert.Equal([("a", 2.0), ("b", 16.0)], s.AlphaPattern(2));
        Assert.Empty(new RankSuggestion(4, [], []).AlphaPattern(2));
    }
}
