using LoraLab.Demo;
using Xunit;

namespace LoraLab.Tests.Cli;

/// A sweep whose base is a DPO run, varying beta: both runs finish, results.csv carries beta and the runs' final
/// rewards, and `report` reads the sweep.
[Collection("cli")]
public class SweepDpoTests
{
    [Fact]
    public void ADpoSweepOverBetaFinishesWithRewardColumnsAndAReport()
    {
        var assets = DemoAssets.Locate();
        var dir = TempDir.New();
        var config = Path.Combine(dir, "sweep.yaml");
        // Two steps of DPO on the demo base with the demo's held-out pairs (125): a run in seconds.
        File.WriteAllText(config, $"base:\n  method: dpo\n  model: {Path.Combine(assets, DemoAssets.BaseFolder)}\n" +
            $"  data: {Path.Combine(assets, DemoAssets.DataFolder, DemoAssets.PrefsHeldOutFile)}\n" +
            "  batch_size: 4\n  micro_batch_size: 4\n  max_seq_length: 128\n  max_prompt_length: 96\n  max_steps: 2\n  threads: 1\n  val_fraction: 0.05\n" +
            "grid:\n  beta: [0.1, 0.5]\n");
        var outDir = Path.Combine(dir, "sweep");
        var (code, stdout, err) = CliRunner.Run("sweep", "--config", config, "--out", outDir);
        Assert.True(code == 0, err + stdout);

        var csv = File.ReadAllLines(Path.Combine(outDir, "results.csv"));
        var header = csv[0].Split(',');
        Assert.Equal(["run", "status", "beta", "final train loss", "final val loss",
            "final rewards_accuracy", "final rewards_margin", "final val_rewards_accuracy", "final val_rewards_margin"], header[..9]);
        Assert.Equal(3, csv.Length);
        var rows = csv[1..].Select(l => l.Split(',')).ToList();
        Assert.Equal(["0.1", "0.5"], rows.Select(r => r[2]).Order());
        foreach (var r in rows)
        {
            Assert.Equal("done", r[1]);
            Assert.InRange(double.Parse(r[5], System.Globalization.CultureInfo.InvariantCulture), 0, 1);
            Assert.InRange(double.Parse(r[7], System.Globalization.CultureInfo.InvariantCulture), 0, 1);
            Assert.All(r[6..9], v => Assert.Matches(@"^-?\d+\.\d{4}$", v));
        }
        Assert.Contains("final val_rewards_accuracy", File.ReadAllText(Path.Combine(outDir, "results.md")));

        (code, stdout, err) = CliRunner.Run("report", outDir);
        Assert.True(code == 0, err + stdout);
    }

    /// A sweep's run configs pin only what the sweep gave: a --ref-adapter run takes the adapter's r and alpha, which
    /// a config listing every default (r: 8) would contradict, failing every run.
    [Fact]
    public void ADpoSweepFromAReferenceAdapterTrainsWithTheAdaptersShape()
    {
        var fixtures = RepoFixtures.Path_("dpo");
        var dir = TempDir.New();
        var config = Path.Combine(dir, "sweep.yaml");
        File.WriteAllText(config, $"base:\n  method: dpo\n  model: {RepoFixtures.Path_("tiny-chat")}\n" +
            $"  data: {Path.Combine(fixtures, "prefs.jsonl")}\n  ref_adapter: {Path.Combine(fixtures, "adapter")}\n  template: plain\n" +
            "  batch_size: 2\n  micro_batch_size: 2\n  max_steps: 2\n  val_fraction: 0\n  lora_dropout: 0\n" +
            "grid:\n  lr: [0.01, 0.001]\n");
        var outDir = Path.Combine(dir, "sweep");
        var (code, stdout, err) = CliRunner.Run("sweep", "--config", config, "--out", outDir);
        Assert.True(code == 0, err + stdout);
        foreach (var run in Directory.GetDirectories(Path.Combine(outDir, "runs")))
            Assert.Contains("r: 4", File.ReadAllText(Path.Combine(run, LoraLab.Training.RunFolder.RunYaml)));
    }
}
