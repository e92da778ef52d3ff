using System.Text.Json;
using System.Text.RegularExpressions;
using LoraLab.Adapters.Analysis;
using LoraLab.Demo;
using LoraLab.Training;
using LoraLab.Training.Relora;
using Xunit;

namespace LoraLab.Tests.Training;

/// `train --relora-every K` on the demo: in `train --help`, a falling loss, a restart every K steps, the merged model
/// in model/ (no adapter/) whose update has rank above r, run.yaml recording K; and a run resumed from a checkpoint
/// between restarts gives the same losses and the same model as the run left alone.
[Collection("cli")]
public class ReloraTrainingTests
{
    static string Base => Path.Combine(DemoAssets.Locate(), DemoAssets.BaseFolder);

    static string[] Train(string outDir, params string[] more) =>
    [
        "train", "--model", Base, "--data", Path.Combine(DemoAssets.Locate(), DemoAssets.DataFolder, DemoAssets.TrainFile), "--out", outDir,
        "--lr", "1e-3", "--warmup-steps", "0", "--log-every", "1", "--val-fraction", "0", "--threads", "2", "--seed", "3", "--stop-rate-prompts", "0", .. more,
    ];

    static List<JsonElement> Rows(string runDir, string type) => File.ReadLines(Path.Combine(runDir, RunFolder.Metrics))
        .Select(l => JsonDocument.Parse(l).RootElement).Where(r => r.GetProperty("type").GetString() == type).ToList();

    static double[] Losses(string runDir) => Rows(runDir, "train").Select(r => r.GetProperty("loss").GetDouble()).ToArray();

    [Fact]
    public void TrainsTheDemoWithAFallingLossAndWritesTheMergedModel()
    {
        var (helpCode, help, _) = CliRunner.Run("train", "--help");
        Assert.Equal(0, helpCode);
        Assert.Contains("--relora-every", help);

        var outDir = Path.Combine(TempDir.New(), "run");
        var (code, stdout, err) = CliRunner.Run(Train(outDir, "--relora-every", "12", "--max-steps", "48", "--batch-size", "8", "--micro-batch-size", "8", "--save-every", "0"));
        Assert.True(code == 0, err + stdout);
        var losses = Losses(outDir);
        Assert.Equal(48, losses.Length);
        Assert.True(losses[^5..].Average() < 0.5 * losses[..5].Average(), $"loss {losses[0]:F3} → {losses[^1]:F3}");
        Assert.Equal(new[] { 12, 24, 36, 48 }, Rows(outDir, "relora_restart").Select(r => r.GetProperty("step").GetInt32()));
        Assert.Contains("the output is the merged model in model/, since the last adapter alone is relative to the changed base", Regex.Replace(stdout, @"\s+", " "));
        Assert.Contains("relora_every: 12", File.ReadAllText(Path.Combine(outDir, RunFolder.RunYaml)));
        Assert.True(File.Exists(Path.Combine(outDir, RunFolder.Model, "model.safetensors")));
        Assert.False(Directory.Exists(Path.Combine(outDir, RunFolder.Adapter)));
        // Reports count what the run trained (its adapter: r 8 on the demo's 28 projections), not the merged model.
        Assert.Equal(108_544, LoraLab.Reporting.RunHistoryReader.Read(outDir).TrainableParameters);

        // Four restarts of rank 8 (the default r), the last one after the final step: every module's update has rank 32.
        var modules = WeightUpdateAnalyzer.Analyze(Path.Combine(outDir, RunFolder.Model), Base);
        Assert.Equal(28, modules.Count); // every projection of the 4 layers (the head is tied to the embeddings)
        Assert.All(modules, m => Assert.True(m.R == 4 * 8, $"{m.Path}: rank {m.R}"));
        var (analyzeCode, table, analyzeErr) = CliRunner.Run("analyze", Path.Combine(outDir, RunFolder.Model), "--base", Base);
        Assert.True(analyzeCode == 0, analyzeErr);
        Assert.Contains("mean rank 32", Regex.Replace(table, @"\s+", " "));

        // The merged model is a model folder `eval --run` scores as the run's result.
        var (evalCode, evalOut, evalErr) = CliRunner.Run("eval", "--run", outDir, "--data", Path.Combine(DemoAssets.Locate(), DemoAssets.DataFolder, DemoAssets.HeldOutFile),
            "--json", "--threads", "2");
        Assert.True(evalCode == 0, evalErr);
        Assert.True(JsonDocument.Parse(evalOut).RootElement.GetProperty("loss").GetDouble() < losses[..5].Average());
    }

    [Fact]
    public void ResumingBetweenRestartsGivesTheSameLossesAndModel()
    {
        var root = TempDir.New();
        string alone = Path.Combine(root, "alone"), resumed = Path.Combine(root, "resumed");
        string[] run = ["--relora-every", "4", "--max-steps", "12", "--batch-size", "4", "--micro-batch-size", "4", "--save-every", "6"];
        var (code, stdout, err) = CliRunner.Run(Train(alone, run));
        Assert.True(code == 0, err + stdout);
        (code, stdout, err) = CliRunner.Run(Train(resumed, run));
        Assert.True(code == 0, err + stdout);
        Assert.True(File.Exists(Path.Combine(resumed, RunFolder.CheckpointsFolder, "step-000006", ReloraCheckpointWeights.BaseFile)));

        // Step 6 lies after the restart at 4 (its base is no longer the model folder's) and before the one at 8.
        (code, stdout, err) = CliRunner.Run("train", "--resume", Path.Combine(resumed, RunFolder.CheckpointsFolder, "step-000006"));
        Assert.True(code == 0, err + stdout);
        Assert.Contains("resumed from", stdout);
        Assert.Equal(new[] { 4, 8, 12 }, Rows(resumed, "relora_restart").Select(r => r.GetProperty("step").GetInt32()));
        var (expected, actual) = (Losses(alone), Losses(resumed));
        Assert.Equal(12, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6 * Math.Abs(expected[i]), $"step {i + 1}: {actual[i]:R} resumed, {expected[i]:R} alone");
        LoraLab.Tests.Distributed.DemoRuns.AssertSameWeights(Path.Combine(alone, RunFolder.Model), Path.Combine(resumed, RunFolder.Model), 1e-6);
    }
}
