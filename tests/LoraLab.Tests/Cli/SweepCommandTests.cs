using LoraLab.Tests.Adapters;
using LoraLab.Training;
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
    public void ASweepKilledDuringItsSecondRunResumesWithOnlyTheSecondAndLeavesNoTrainRunning()
    {
        // the second run is long enough (about 12 s on 2 cores) to be caught in its first steps and outlive the check below
        var config = Write(Sweep(LoraTestModels.TinyChatModel(), "runs:\n  - {name: short}\n  - {name: long, max_steps: 300}\n"));
        var outDir = Path.Combine(TempDir.New(), "sweep");
        var metrics = Path.Combine(outDir, "runs", "long", "metrics.jsonl");
        int? child = null;
        using (var sweep = CliRunner.Start("sweep", "--config", config, "--out", outDir))
            try
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (!(File.Exists(metrics) && File.ReadAllText(metrics).Contains("\"type\":\"train\"")))
                {
                    Assert.False(sweep.HasExited, $"the sweep ended (exit {(sweep.HasExited ? sweep.ExitCode : 0)}) before its second run logged a step");
                    Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), "the second run logged no step in 3 minutes");
                    Thread.Sleep(50);
                }
                child = int.Parse(File.ReadAllText(Path.Combine(outDir, "runs", "long", ".loralab.pid")).Trim());
                sweep.Kill(); // the sweep alone (SIGKILL), as `kill -9`, the OOM killer or a lost session would: not its child
                sweep.WaitForExit();
                // the orphaned `train` notices its sweep is gone and ends at once, leaving the unfinished run to the next sweep
                clock.Restart();
                while (Alive(child.Value) && clock.Elapsed < TimeSpan.FromSeconds(3)) Thread.Sleep(50);
                Assert.False(Alive(child.Value), $"train (PID {child}) still runs 3 s after its sweep was killed");
                Assert.False(RunFolder.HasFinalWeights(Path.Combine(outDir, "runs", "long")));
            }
            finally
            {
                if (child is int pid && Alive(pid)) System.Diagnostics.Process.GetProcessById(pid).Kill();
            }

        var (code, stdout, err) = CliRunner.Run("sweep", "--config", config, "--out", outDir);
        Assert.True(code == 0, err + stdout);
        Assert.Contains("[1/2] short: skipped (already finished)", stdout);
        Assert.True(stdout.Contains("[2/2] long: done in "), stdout + err);
        // trained again from its first step (an unfinished run starts over), not continued in a second timeline
        var steps = File.ReadLines(metrics).Where(l => l.Contains("\"type\":\"train\"")).Select(l => l.Split("\"step\":")[1].Split(',')[0]).ToList();
        Assert.Equal(Enumerable.Range(1, 300).Select(i => $"{i}"), steps);
        Assert.Equal(["short,done", "long,done"], File.ReadAllLines(Path.Combine(outDir, "results.csv")).Skip(1).Select(l => string.Join(",", l.Split(',')[..2])).Order().Reverse());
    }

    [Fact]
    public void ASweepRunEqualsTrainAloneOnItsConfigLossForLossAndByteForByte()
    {
        var config = Write(Sweep(LoraTestModels.TinyChatModel(), "grid:\n  seed: [7, 8]\n"));
        var outDir = Path.Combine(TempDir.New(), "sweep");
        var (code, stdout, err) = CliRunner.Run("sweep", "--config", config, "--out", outDir);
        Assert.True(code == 0, err + stdout);
        var alone = Path.Combine(TempDir.New(), "alone");
        // as a process, as the sweep ran it (and as a user runs it): state the long-lived test process holds from
        // earlier tests is no part of the claim
        (code, stdout, err) = CliRunner.RunProcess("train", "--config", Path.Combine(outDir, "configs", "seed8.yaml"), "--out", alone);
        Assert.True(code == 0, err + stdout);

        // every logged loss with its row's type and step (times and speeds are the machine's, not the run's)
        static List<string> Losses(string run) => File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(l =>
        {
            var row = System.Text.Json.JsonDocument.Parse(l).RootElement;
            return string.Join(" ", row.EnumerateObject().Where(p => p.Name is "type" or "step" || p.Name.EndsWith("loss")).Select(p => $"{p.Name}={p.Value}"));
        }).Where(l => l.Contains("loss=")).ToList();
        static byte[] Adapter(string run) => File.ReadAllBytes(Path.Combine(run, "adapter", "adapter_model.safetensors"));
        var swept = Path.Combine(outDir, "runs", "seed8");
        Assert.Equal(Losses(swept), Losses(alone));
        Assert.True(Losses(alone).Count >= 3, string.Join("\n", Losses(alone))); // two train steps and an evaluation at least
        Assert.Equal(Adapter(swept), Adapter(alone));
        // and the seed is what differs between the sweep's runs: the other seed learned other weights
        Assert.NotEqual(Adapter(Path.Combine(outDir, "runs", "seed7")), Adapter(alone));
    }

    /// A process that runs (a zombie, dead but not yet reaped by whoever inherited it, does not).
    static bool Alive(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/stat").Split(')')[^1].Trim()[0] != 'Z'; }
        catch (IOException) { return false; }
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

    [Fact]
    public void CollectMergesTwoShardsIntoTheFirstFolderAndWritesOneResultRowPerRun()
    {
        var config = Write(Sweep(LoraTestModels.TinyChatModel(), "grid:\n  r: [2, 4]\n"));
        var shards = new[] { Path.Combine(TempDir.New(), "shard0"), Path.Combine(TempDir.New(), "shard1") };
        for (int i = 0; i < 2; i++)
        {
            var (c, o, e) = CliRunner.Run("sweep", "--config", config, "--out", shards[i], "--shard", $"{i}/2");
            Assert.True(c == 0, e + o);
            Assert.Contains($"results: {Path.Combine(shards[i], "results.csv")} and results.md (1 done)", o);
        }
        // before collecting, a shard's results know only its own run (and no varied column: one run varies nothing)
        Assert.Equal(2, File.ReadAllLines(Path.Combine(shards[1], "results.csv")).Length);
        Assert.StartsWith("r4,done,", File.ReadAllLines(Path.Combine(shards[1], "results.csv"))[1]);

        var (code, stdout, err) = CliRunner.Run("sweep", "--collect", shards[0], shards[1]);
        Assert.True(code == 0, err + stdout);
        Assert.Contains($"collected 1 runs into {Path.Combine(shards[0], "runs")}", stdout);
        Assert.True(File.Exists(Path.Combine(shards[0], "runs", "r4", "adapter", "adapter_config.json")));
        var csv = File.ReadAllLines(Path.Combine(shards[0], "results.csv"));
        Assert.Equal("run,status,r,final train loss,final val loss,steps,trainable params,peak memory (MB),wall time (s),tokens/s", csv[0]);
        Assert.Equal(3, csv.Length);
        Assert.Matches(@"^r2,done,2,\d+\.\d{4},\d+\.\d{4},2,\d+,\d+,[\d.]+,[\d.]+$", csv[1]);
        Assert.Matches(@"^r4,done,4,\d+\.\d{4},\d+\.\d{4},2,\d+,\d+,[\d.]+,[\d.]+$", csv[2]);
        Assert.Equal(2 * long.Parse(csv[1].Split(',')[6]), long.Parse(csv[2].Split(',')[6])); // r4 trains twice r2's parameters
        // the unsharded sweep gives the same rows, apart from what the machine measures (peak memory, wall time)
        var whole = Path.Combine(TempDir.New(), "whole");
        (code, stdout, err) = CliRunner.Run("sweep", "--config", config, "--out", whole);
        Assert.True(code == 0, err + stdout);
        static string Learned(string row) => string.Join(",", row.Split(',')[..7]);
        Assert.Equal(csv.Select(Learned), File.ReadAllLines(Path.Combine(whole, "results.csv")).Select(Learned));
        var md = File.ReadAllText(Path.Combine(shards[0], "results.md"));
        Assert.Contains("| run | status | r | final train loss |", md);
        Assert.Matches(@"\| r4 \| done \| 4 \| ", md);
        Assert.Empty(Directory.GetFiles(shards[0], "*.tmp"));

        // collecting again copies nothing; a run of the same name with other settings is refused in one line
        (code, stdout, err) = CliRunner.Run("sweep", "--collect", shards[0], shards[1]);
        Assert.True(code == 0, err + stdout);
        Assert.Contains("collected 0 runs", stdout);
        var yaml = Path.Combine(shards[1], "runs", "r4", "run.yaml");
        File.WriteAllText(yaml, File.ReadAllText(yaml).Replace("r: 4\n", "r: 8\n"));
        (code, _, err) = CliRunner.Run("sweep", "--collect", shards[0], shards[1]);
        Assert.Equal((2, $"error: {Path.Combine(shards[1], "runs", "r4")}: run 'r4' is also in {Path.Combine(shards[0], "runs")} with other settings (run.yaml differs)"),
            (code, err.Trim()));
    }
}
