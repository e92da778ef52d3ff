using LoraLab.Tests.Adapters;
using Xunit;

namespace LoraLab.Tests.Cli;

/// `loralab sweep` end to end: runs trained as `loralab train` child processes into DIR/runs/<name>/, finished runs
/// skipped on the next invocation, a failed run recorded while the others go on.
[Collection("cli")]
public class SweepCommandTests
{
    /// Two steps of tiny-chat on the reference instructions, one thread, no stop-rate generations: a run in seconds.
    static string Sweep(string model, string body) =>
        $"base:\n  model: {model}\n  data: {LoraTestModels.Instructions}\n  batch_size: 4\n  micro_batch_size: 2\n  max_seq_length: 96\n" +
        $"  max_steps: 2\n  threads: 1\n  stop_rate_prompts: 0\n{body}";

    static string Write(string text)
    {
        var path = Path.Combine(TempDir.New(), "sweep.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void RunsEachGridPointIntoItsFolderAndSkipsFinishedRunsOnTheNextInvocation()
    {
        var config = Write(Sweep(LoraTestModels.TinyChatModel(), "grid:\n  r: [2, 4]\n"));
        var outDir = Path.Combine(TempDir.New(), "sweep");
        var (code, stdout, err) = CliRunner.Run("sweep", "--config", config, "--out", outDir);
        Assert.True(code == 0, err + stdout);
        foreach (var (name, r) in new[] { ("r2", 2), ("r4", 4) })
        {
            var run = Path.Combine(outDir, "runs", name);
            Assert.True(File.Exists(Path.Combine(run, "adapter", "adapter_config.json")), $"{name}: no adapter\n{stdout}");
            Assert.Contains($"r: {r}\n", File.ReadAllText(Path.Combine(run, "run.yaml")));
            Assert.Equal(2, File.ReadLines(Path.Combine(run, "metrics.jsonl")).Count(l => l.Contains("\"type\":\"train\"")));
        }
        Assert.Matches(@"\[1/2\] r2: done in [\d.]+s · elapsed [\d.]+s · about [\d.]+s left", stdout);
        Assert.Matches(@"\[2/2\] r4: done in [\d.]+s · elapsed [\d.]+s · about 0\.0s left", stdout);

        var stamp = File.GetLastWriteTimeUtc(Path.Combine(outDir, "runs", "r2", "run.yaml"));
        (code, stdout, err) = CliRunner.Run("sweep", "--config", config, "--out", outDir);
        Assert.True(code == 0, err + stdout);
        Assert.Contains("[1/2] r2: skipped (already finished)", stdout);
        Assert.Contains("[2/2] r4: skipped (already finished)", stdout);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(outDir, "runs", "r2", "run.yaml")));
    }

    [Fact]
    public void AFailedRunIsRecordedTheNextStillRunsAndTheExitCodeSaysSo()
    {
        var missing = Path.Combine(TempDir.New(), "missing.json");
        var config = Write(Sweep(LoraTestModels.TinyChatModel(), $"runs:\n  - {{name: bad, data: {missing}}}\n  - {{name: good, r: 2}}\n"));
        var outDir = Path.Combine(TempDir.New(), "sweep");
        var (code, stdout, err) = CliRunner.Run("sweep", "--config", config, "--out", outDir);
        Assert.True(code == 1, $"exit {code}\n{err}{stdout}");
        var error = File.ReadAllText(Path.Combine(outDir, "runs", "bad", "error.txt"));
        Assert.Contains(missing, error);
        Assert.Contains("[1/2] bad: FAILED (exit 2): error: ", stdout);
        Assert.Contains("sweep finished: 1 of 2 runs failed", stdout);
        Assert.True(File.Exists(Path.Combine(outDir, "runs", "good", "adapter", "adapter_config.json")), stdout);
    }

    [Fact]
    public void DryRunListsTheShardsRunsWithTheirVariedSettingsAndTrainsNothing()
    {
        var config = Write(Sweep("m", "grid:\n  r: [2, 4]\n  lr: [1e-4, 1e-3]\n"));
        var outDir = Path.Combine(TempDir.New(), "sweep");
        var (code, stdout, err) = CliRunner.Run("sweep", "--config", config, "--out", outDir, "--dry-run", "--shard", "1/2");
        Assert.True(code == 0, err + stdout);
        Assert.Contains("2 runs (shard 1/2 of 4)", stdout);
        Assert.Matches(@"│ 1 +│ r2-lr0\.001 +│ 2 +│ 0\.001 +│", stdout);
        Assert.Matches(@"│ 3 +│ r4-lr0\.001 +│ 4 +│ 0\.001 +│", stdout);
        Assert.DoesNotContain("r2-lr0.0001", stdout);
        Assert.False(Directory.Exists(outDir));

        (code, _, err) = CliRunner.Run("sweep", "--config", config, "--out", outDir, "--shard", "2/2");
        Assert.Equal((2, "error: --shard 2/2: the shard index must be 0 to 1 (shards are counted from 0)"), (code, err.Trim()));
    }
}
