using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using LoraLab.Tests.Adapters;
using Xunit;

namespace LoraLab.Tests.Cli;

/// `loralab train --resume` and the run folder: resume from run.yaml alone, refused config changes, metrics and
/// epoch losses across a resume, the resume command on Ctrl-C, stale temporaries, failed runs, checkpoint rotation.
[Collection("cli")]
public class ResumeTests
{
    /// The first `n` reference instruction records as JSONL: with batch 4 = 2 x 2 and no validation, 12 records make 3 steps an epoch.
    static string SmallData(int n)
    {
        var all = JsonNode.Parse(File.ReadAllText(LoraTestModels.Instructions))!.AsArray();
        var path = Path.Combine(TempDir.New(), $"alpaca-{n}.jsonl");
        File.WriteAllLines(path, all.Take(n).Select(r => r!.ToJsonString()));
        return path;
    }

    static string[] Args(string model, string data, string outDir, params string[] extra) => new[]
    {
        "train", "--model", model, "--data", data, "--out", outDir, "--batch-size", "4", "--micro-batch-size", "2",
        "--max-seq-length", "96", "--lr", "1e-3", "--threads", "2", "--stop-rate-prompts", "0", "--val-fraction", "0",
        "--lora-dropout", "0", "--seed", "5",
    }.Concat(extra).ToArray();

    static List<JsonElement> Metrics(string outDir) => File.ReadLines(Path.Combine(outDir, "metrics.jsonl"))
        .Select(l => JsonDocument.Parse(l).RootElement).ToList();

    static List<int> TrainSteps(string outDir) => Metrics(outDir).Where(r => r.GetProperty("type").GetString() == "train")
        .Select(r => r.GetProperty("step").GetInt32()).ToList();

    static List<double> EpochLosses(string outDir) => Metrics(outDir).Where(r => r.GetProperty("type").GetString() == "epoch")
        .Select(r => r.GetProperty("train_loss").GetDouble()).ToList();

    static (int Code, string Out, string Err) Ok((int Code, string Out, string Err) r)
    {
        Assert.True(r.Code == 0, $"exit {r.Code}: {r.Err}\n{r.Out}");
        return r;
    }

    [Fact]
    public void ResumingACheckpointNeedsNoFlagsAndKeepsEpochLossAndMetricsExact()
    {
        var model = LoraTestModels.TinyChatModel();
        var data = SmallData(12);
        var root = TempDir.New();
        string a = Path.Combine(root, "a"), b = Path.Combine(root, "b");
        Ok(CliRunner.Run(Args(model, data, a, "--max-steps", "6", "--save-every", "1")));
        Ok(CliRunner.Run(Args(model, data, b, "--max-steps", "6", "--save-every", "1")));

        // b "was killed" after its step-2 checkpoint: resume it from that checkpoint with no other flag.
        var (_, stdout, _) = Ok(CliRunner.Run("train", "--resume", Path.Combine(b, "checkpoints", "step-000002")));
        Assert.Contains("resumed from", stdout);
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6 }, TrainSteps(b));          // no step logged twice
        var (ea, eb) = (EpochLosses(a), EpochLosses(b));
        Assert.Equal(2, eb.Count);
        for (int i = 0; i < ea.Count; i++) Assert.Equal(ea[i], eb[i], 1e-6);  // the epoch mean counts the steps before the resume
        Assert.Contains("resumed:", File.ReadAllText(Path.Combine(b, "run.yaml")));
    }

    [Fact]
    public void ChangedSettingsAreRefusedUnlessAllowedAndThenRecorded()
    {
        var model = LoraTestModels.TinyChatModel();
        var data = SmallData(12);
        var run = Path.Combine(TempDir.New(), "run");
        Ok(CliRunner.Run(Args(model, data, run, "--max-steps", "4", "--save-every", "2")));
        var other = SmallData(16);

        var (code, _, err) = CliRunner.Run("train", "--resume", run, "--lr", "2e-3", "--seed", "7", "--data", other, "--threads", "1");
        Assert.Equal(2, code);
        Assert.Contains("lr: 0.001 → 0.002", err);
        Assert.Contains("seed: 5 → 7", err);
        Assert.Contains("data: ", err);
        Assert.DoesNotContain("threads", err);                        // harmless keys may change
        Assert.Contains("--allow-config-change", err);
        Assert.Single(err.Trim().Split('\n'));

        Ok(CliRunner.Run("train", "--resume", run, "--max-steps", "6", "--allow-config-change"));
        Assert.Equal(new[] { 1, 2, 3, 4, 5, 6 }, TrainSteps(run));
        var yaml = File.ReadAllText(Path.Combine(run, "run.yaml"));
        Assert.Contains("max_steps: 6", yaml);
        Assert.Contains("max_steps: 4 → 6", yaml);
        Assert.Contains(Metrics(run), r => r.GetProperty("type").GetString() == "resume" && r.GetProperty("step").GetInt32() == 4);
    }

    [Fact]
    public void CtrlCPrintsTheResumeCommandAndTheRunFolderResumesAlone()
    {
        var model = LoraTestModels.TinyChatModel();
        var data = SmallData(12);
        var run = Path.Combine(TempDir.New(), "run");
        using var p = Process.Start(CliRunner.StartInfo(Args(model, data, run, "--max-steps", "100000")))!;
        var err = p.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        for (string? line; (line = p.StandardOutput.ReadLine()) is not null;)
        {
            lines.Add(line);
            if (line.StartsWith("step 2/")) Process.Start("kill", $"-INT {p.Id}")!.WaitForExit();
        }
        p.WaitForExit();
        var stdout = string.Join("\n", lines);
        Assert.True(p.ExitCode == 130, $"exit {p.ExitCode}: {err.Result}\n{stdout}");
        Assert.Contains($"loralab train --resume {run}", stdout);

        Ok(CliRunner.Run("train", "--resume", run, "--max-steps", "5", "--allow-config-change"));
        var steps = TrainSteps(run);
        Assert.Equal(Enumerable.Range(1, 5), steps);
        Assert.True(File.Exists(Path.Combine(run, "adapter", "adapter_config.json")));
    }

    [Fact]
    public void StaleTemporariesAreRemovedAtTheStartOfARun()
    {
        var model = LoraTestModels.TinyChatModel();
        var data = SmallData(12);
        var run = Path.Combine(TempDir.New(), "run");
        Ok(CliRunner.Run(Args(model, data, run, "--max-steps", "2", "--save-every", "1")));
        var stale = new[]
        {
            Path.Combine(run, "checkpoints", ".step-000003.tmp-999999"), Path.Combine(run, ".adapter.tmp-999998"),
            Path.Combine(run, "checkpoints", "step-000001.old-999997"),
        };
        foreach (var d in stale) { Directory.CreateDirectory(d); File.WriteAllText(Path.Combine(d, "x"), "half written"); }
        Ok(CliRunner.Run("train", "--resume", run, "--max-steps", "3", "--allow-config-change"));
        foreach (var d in stale) Assert.False(Directory.Exists(d), d);
        Assert.True(Directory.Exists(Path.Combine(run, "checkpoints", "step-000001")));
    }

    [Fact]
    public void ARunThatFailsBeforeItsFirstCheckpointLeavesTheFolderAsFound()
    {
        var model = LoraTestModels.TinyChatModel();
        var data = SmallData(12);
        var root = TempDir.New();

        // The folder did not exist: a model that fails to load leaves none behind.
        var fresh = Path.Combine(root, "fresh");
        var (code, _, _) = CliRunner.Run(Args(Path.Combine(root, "no-model"), data, fresh, "--max-steps", "2"));
        Assert.Equal(2, code);
        Assert.False(Directory.Exists(fresh));

        // An existing folder: a run that diverges at once (absurd learning rate) removes only what it wrote.
        var existing = Path.Combine(root, "existing");
        Directory.CreateDirectory(existing);
        File.WriteAllText(Path.Combine(existing, "notes.txt"), "mine");
        var (code2, _, err2) = CliRunner.Run(Args(model, data, existing, "--max-steps", "3", "--lr", "1e38", "--overwrite"));
        Assert.True(code2 == 2, err2);
        Assert.Contains("diverged", err2);
        Assert.Equal(new[] { "notes.txt" }, Directory.EnumerateFileSystemEntries(existing).Select(Path.GetFileName));

        // An empty folder of the user's: a failed run leaves it empty, so the same command, corrected, needs no --overwrite.
        var empty = Path.Combine(root, "empty");
        Directory.CreateDirectory(empty);
        var (code3, _, err3) = CliRunner.Run(Args(model, data, empty, "--max-steps", "3", "--lr", "1e38"));
        Assert.True(code3 == 2, err3);
        Assert.Empty(Directory.EnumerateFileSystemEntries(empty));
        Ok(CliRunner.Run(Args(model, data, empty, "--max-steps", "1")));
        Ok(CliRunner.Run(Args(model, data, fresh, "--max-steps", "1")));
    }

    [Fact]
    public void AFailedResumeKeepsTheAdapterAKilledWriteLeftAside()
    {
        var model = LoraTestModels.TinyChatModel();
        var data = SmallData(12);
        var run = Path.Combine(TempDir.New(), "run");
        Ok(CliRunner.Run(Args(model, data, run, "--max-steps", "3", "--save-every", "1")));
        // Killed while replacing the final adapter: the complete previous copy is left aside, adapter/ is missing.
        var adapter = Path.Combine(run, "adapter");
        Directory.Move(adapter, adapter + ".old-999999");

        // A resume that diverges at its first step (before any checkpoint) fails and undoes what it did.
        var checkpoint = Path.Combine(run, "checkpoints", "step-000001");
        var (code, _, err) = CliRunner.Run("train", "--resume", checkpoint, "--lr", "1e38", "--save-every", "0", "--allow-config-change");
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Contains("from finite weights, so the learning rate is to blame", err);
        Assert.Contains($"; the last good checkpoint is {checkpoint}", err);  // the one it resumed from
        Assert.True(File.Exists(Path.Combine(adapter, "adapter_config.json")), "the recovered adapter was deleted");
    }

    [Fact]
    public void ResumingIntoAnotherFolderIsAForkThatNeedsOverwriteAndKeepsTheHistory()
    {
        var model = LoraTestModels.TinyChatModel();
        var data = SmallData(12);
        var root = TempDir.New();
        string a = Path.Combine(root, "a"), b = Path.Combine(root, "b");
        Ok(CliRunner.Run(Args(model, data, a, "--max-steps", "4", "--save-every", "1")));
        var checkpoint = Path.Combine(a, "checkpoints", "step-000002");
        Directory.CreateDirectory(b);
        File.WriteAllText(Path.Combine(b, "run.yaml"), "mine");

        var (code, _, err) = CliRunner.Run("train", "--resume", checkpoint, "--out", b);
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Contains($"--out {b}: folder exists and is not empty", err);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(b, "run.yaml")));

        (code, _, err) = CliRunner.Run("train", "--resume", checkpoint, "--out", Path.Combine(checkpoint, "fork"));
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Contains($"lies inside the --resume folder {checkpoint}", err);

        Ok(CliRunner.Run("train", "--resume", checkpoint, "--out", b, "--overwrite"));
        Assert.Equal(new[] { 1, 2, 3, 4 }, TrainSteps(b));             // a's steps up to the checkpoint, then the fork's
        Assert.Equal(new[] { 1, 2, 3, 4 }, TrainSteps(a));             // the source run is untouched
        Assert.Equal(4, Directory.GetDirectories(Path.Combine(a, "checkpoints")).Length);
    }

    static string[] CheckpointNames(string run) =>
        Directory.GetDirectories(Path.Combine(run, "checkpoints")).Select(d => Path.GetFileName(d)!).Order().ToArray();

    [Fact]
    public void ANewRunIntoAnOldRunFolderLeavesNoneOfItsCheckpointsOrWeights()
    {
        var model = LoraTestModels.TinyChatModel();
        var data = SmallData(12);
        var run = Path.Combine(TempDir.New(), "run");
        Ok(CliRunner.Run(Args(model, data, run, "--max-steps", "4", "--save-every", "1")));

        // A new run that fails at once leaves the old one as it was.
        var (code, _, err) = CliRunner.Run(Args(model, data, run, "--max-steps", "3", "--lr", "1e38", "--overwrite"));
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Equal(new[] { "step-000001", "step-000002", "step-000003", "step-000004" }, CheckpointNames(run));
        Assert.True(Directory.Exists(Path.Combine(run, "adapter")));

        // One that trains replaces the old run: `--resume RUN` then continues the new run, not the old one's step 4.
        Ok(CliRunner.Run(Args(model, data, run, "--max-steps", "3", "--save-every", "2", "--seed", "9", "--overwrite")));
        Assert.Equal(new[] { "step-000002", "step-000003" }, CheckpointNames(run));
        Assert.Equal(new[] { "adapter", "checkpoints", "metrics.jsonl", "run.yaml" },
            Directory.EnumerateFileSystemEntries(run).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ResumingInPlaceFromAnEarlierCheckpointDropsTheAbandonedLaterOnes()
    {
        var model = LoraTestModels.TinyChatModel();
        var data = SmallData(12);
        var run = Path.Combine(TempDir.New(), "run");
        Ok(CliRunner.Run(Args(model, data, run, "--max-steps", "5", "--save-every", "1")));
        Ok(CliRunner.Run("train", "--resume", Path.Combine(run, "checkpoints", "step-000002"), "--max-steps", "4", "--save-every", "0", "--allow-config-change"));
        Assert.Equal(new[] { "step-000001", "step-000002", "step-000004" }, CheckpointNames(run));  // step 4 is the new timeline's
        Assert.Equal(new[] { 1, 2, 3, 4 }, TrainSteps(run));
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(run), e => Path.GetFileName(e).StartsWith(".set-aside"));
    }

    [Fact]
    public void ResumingAFinishedRunIsRefusedUntilItIsGivenMoreSteps()
    {
        var model = LoraTestModels.TinyChatModel();
        var data = SmallData(12);
        var run = Path.Combine(TempDir.New(), "run");
        Ok(CliRunner.Run(Args(model, data, run, "--max-steps", "2")));
        var before = Directory.EnumerateFiles(run, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);

        var (code, _, err) = CliRunner.Run("train", "--resume", run);
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Equal($"error: {run}: already complete (step 2 of 2); raise --max-steps/--epochs with --allow-config-change to train further", err.Trim());
        var after = Directory.EnumerateFiles(run, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        Assert.All(before, f => Assert.Equal(f.Value, after[f.Key]));

        Ok(CliRunner.Run("train", "--resume", run, "--max-steps", "3", "--allow-config-change"));
        Assert.Equal(new[] { 1, 2, 3 }, TrainSteps(run));
    }

    [Fact]
    public void SaveTotalLimitKeepsTheNewestCheckpoints()
    {
        var model = LoraTestModels.TinyChatModel();
        var data = SmallData(12);
        var run = Path.Combine(TempDir.New(), "run");
        Ok(CliRunner.Run(Args(model, data, run, "--max-steps", "5", "--save-every", "1", "--save-total-limit", "2")));
        Assert.Equal(new[] { "step-000004", "step-000005" },
            Directory.GetDirectories(Path.Combine(run, "checkpoints")).Select(Path.GetFileName).Order());
    }

    /// One run with a held-out split, 9 steps of 3 an epoch, given the base by a relative path (shared by the tests below).
    static readonly Lazy<(string Run, string Model)> Recorded = new(() =>
    {
        var model = LoraTestModels.TinyChatModel();
        var run = Path.Combine(TempDir.New(), "run");
        var relativeModel = Path.GetRelativePath(Environment.CurrentDirectory, model);
        var args = Args(relativeModel, SmallData(16), run, "--max-steps", "9", "--max-seq-length", "512").ToList();
        args[args.IndexOf("--val-fraction") + 1] = "0.25";
        args[args.IndexOf("--stop-rate-prompts") + 1] = "2";
        Ok(CliRunner.Run(args.ToArray()));
        return (run, model);
    });

    [Fact]
    public void TheValidationSplitIsSavedAndEvalRunScoresTheRunOnIt()
    {
        var run = Recorded.Value.Run;
        Assert.Equal(4, File.ReadLines(Path.Combine(run, "val.jsonl")).Count());
        // eval --run scores the adapter on the held-out records exactly as training's last evaluation did.
        var lastVal = Metrics(run).Last(r => r.TryGetProperty("val_loss", out _)).GetProperty("val_loss").GetDouble();
        var (code, stdout, err) = CliRunner.Run("eval", "--run", run, "--json");
        Assert.True(code == 0, err);
        Assert.Equal(lastVal, JsonDocument.Parse(stdout).RootElement.GetProperty("loss").GetDouble(), 1e-4);
    }

    [Fact]
    public void EveryMetricsRowHasAUtcTimeAndElapsedSeconds()
    {
        double last = 0;
        var rows = Metrics(Recorded.Value.Run);
        Assert.Equal("stop_rate", rows[^1].GetProperty("type").GetString()); // measured after training, still on the run's clock
        foreach (var r in rows)
        {
            var time = r.GetProperty("time").GetString()!;
            Assert.EndsWith("Z", time);
            Assert.True(DateTime.TryParse(time, out _), time);
            Assert.True(r.GetProperty("elapsed_s").GetDouble() >= last, $"elapsed_s went back from {last} in {r}");
            last = r.GetProperty("elapsed_s").GetDouble();
        }
    }

    [Fact]
    public void RunYamlSaysHowManyStepsAndEpochsRan()
    {
        var yaml = File.ReadAllText(Path.Combine(Recorded.Value.Run, "run.yaml"));
        Assert.Contains("total_steps: 9", yaml);       // --max-steps 9 at 3 steps an epoch: 3 epochs, not the `epochs: 1` setting
        Assert.Contains("steps_per_epoch: 3", yaml);
        Assert.Contains("  epochs: 3", yaml);
    }

    [Fact]
    public void TheAdapterNamesItsBaseByFullPath()
    {
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(Recorded.Value.Run, "adapter", "adapter_config.json")))!;
        Assert.Equal(Path.GetFullPath(Recorded.Value.Model), (string?)cfg["base_model_name_or_path"]);
    }
}
