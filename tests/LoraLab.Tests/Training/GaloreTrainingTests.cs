using System.Text.Json;
using LoraLab.Demo;
using Xunit;

namespace LoraLab.Tests.Training;

/// `train --method galore` is in `train --help` with its three settings, trains the demo model with a falling loss
/// (the projections refreshed twice within the run), writes the model folder, and run.yaml records the settings with
/// the rank the model gave (hidden 192 / 4 = 48).
[Collection("cli")]
public class GaloreTrainingTests
{
    [Fact]
    public void TrainsTheDemoWithAFallingLossAndRecordsTheSettings()
    {
        var (helpCode, help, _) = CliRunner.Run("train", "--help");
        Assert.Equal(0, helpCode);
        foreach (var flag in new[] { "galore", "--galore-rank", "--galore-update-every", "--galore-scale" }) Assert.Contains(flag, help);

        var (outDir, losses, stdout) = DemoTrainRun.Run(30, "--method", "galore", "--galore-update-every", "15", "--stop-rate-prompts", "0", "--precision", "fp32");
        Assert.Contains("GaLore: rank 48 on 28 decoder projections", stdout);
        DemoTrainRun.AssertFalls(losses);
        Assert.True(File.Exists(Path.Combine(outDir, "model", "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(outDir, "model", "config.json")));
        var yaml = File.ReadAllText(Path.Combine(outDir, "run.yaml"));
        Assert.Contains("method: galore", yaml);
        Assert.Contains("galore_rank: 48", yaml);
        Assert.Contains("galore_update_every: 15", yaml);
        Assert.Contains("galore_scale: 0.25", yaml);
    }

    /// A run resumed from its step-2 checkpoint (in another folder) takes steps 3 and 4 as the run that never stopped:
    /// step 3 with the moments and the projection of step 1 read back (T = 3), step 4 with a new projection; the final
    /// weights are the same bytes.
    [Fact]
    public void AResumedRunTakesTheSameSteps()
    {
        string root = DemoAssets.Locate(), dir = TempDir.New();
        string[] Args(string outDir, params string[] more) => ["train", "--model", Path.Combine(root, DemoAssets.BaseFolder),
            "--data", Path.Combine(root, DemoAssets.DataFolder, DemoAssets.TrainFile), "--out", outDir, "--method", "galore", "--galore-update-every", "3",
            "--galore-rank", "8", "--max-steps", "4", "--batch-size", "4", "--micro-batch-size", "4", "--lr", "1e-3", "--warmup-steps", "0",
            "--val-fraction", "0", "--save-every", "2", "--threads", "2", "--seed", "3", "--stop-rate-prompts", "0", "--precision", "fp32", .. more];
        string a = Path.Combine(dir, "a"), b = Path.Combine(dir, "b");
        var (code, stdout, err) = CliRunner.Run(Args(a));
        Assert.True(code == 0, err + stdout);
        (code, stdout, err) = CliRunner.Run(Args(b, "--resume", Path.Combine(a, "checkpoints", "step-000002")));
        Assert.True(code == 0, err + stdout);
        Assert.Equal(Losses(a)[2..], Losses(b)[2..]);
        Assert.Equal(File.ReadAllBytes(Path.Combine(a, "model", "model.safetensors")), File.ReadAllBytes(Path.Combine(b, "model", "model.safetensors")));
    }

    /// `estimate --method galore` counts GaLore's state (small at rank 128: 311.1 MiB, as measured in GaloreMemoryTests);
    /// the GaLore flags of `estimate` and `bench` are refused with another method.
    [Fact]
    public void EstimateCountsItAndOtherMethodsRefuseItsFlags()
    {
        var (code, stdout, err) = CliRunner.Run("estimate", "--arch", "small", "--method", "galore", "--json");
        Assert.True(code == 0, err + stdout);
        var row = JsonDocument.Parse(stdout).RootElement[0];
        Assert.Equal(128, row.GetProperty("galore_rank").GetInt32());
        Assert.Equal(311.1, row.GetProperty("parts_mb").GetProperty("optimizer state").GetDouble());
        (code, _, err) = CliRunner.Run("estimate", "--arch", "small", "--method", "lora", "--galore-rank", "8");
        Assert.Equal(2, code);
        Assert.Contains("--galore-rank applies to --method galore only", err);
        (code, _, err) = CliRunner.Run("bench", "--arch", "tiny", "--method", "full", "--galore-update-every", "5");
        Assert.Equal(2, code);
        Assert.Contains("--galore-update-every applies to --method galore only", err);
    }

    static double[] Losses(string run) => File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
        .Where(r => r.GetProperty("type").GetString() == "train").Select(r => r.GetProperty("loss").GetDouble()).ToArray();
}
