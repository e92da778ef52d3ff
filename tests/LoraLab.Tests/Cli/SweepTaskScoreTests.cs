using System.Text.Json;
using LoraLab.Demo;
using Xunit;

namespace LoraLab.Tests.Cli;

/// `loralab sweep` scores each finished run on the sweep's tasks in its own process: RUN_DIR/eval.json, the task
/// columns of results.csv, a restarted sweep scoring a finished run that lacks them, a scoring failure recorded.
[Collection("cli")]
public class SweepTaskScoreTests
{
    /// Two steps on the demo base and its training data: a run in seconds; the demo tasks on 2 held-out examples each.
    static string Sweep(string evalBlock)
    {
        var assets = DemoAssets.Locate();
        var dir = TempDir.New();
        var quiz = Path.Combine(dir, "quiz.jsonl");
        File.WriteAllText(quiz, "{\"context\": \"Count the words.\", \"choices\": [\"one\", \"two\"], \"gold\": 0}\n" +
            "{\"context\": \"Give the first word of the list.\", \"choices\": [\"cup\", \"milk\"], \"gold\": 1}\n");
        var path = Path.Combine(dir, "sweep.yaml");
        File.WriteAllText(path, $"base:\n  model: {Path.Combine(assets, DemoAssets.BaseFolder)}\n  data: {Path.Combine(assets, DemoAssets.DataFolder, DemoAssets.TrainFile)}\n" +
            "  batch_size: 4\n  micro_batch_size: 4\n  max_seq_length: 64\n  max_steps: 2\n  threads: 1\n  stop_rate_prompts: 0\n  val_fraction: 0.01\n" +
            "grid:\n  r: [2, 4]\n" + evalBlock.Replace("QUIZ", quiz));
        return path;
    }

    [Fact]
    public void EachRunGetsEvalJsonAndTaskColumnsAndARestartScoresARunThatLacksThem()
    {
        var config = Sweep("eval:\n  - {task: demo, limit: 2}\n  - {task: mc, name: quiz, data: QUIZ}\n");
        var outDir = Path.Combine(TempDir.New(), "sweep");
        var (code, stdout, err) = CliRunner.Run("sweep", "--config", config, "--out", outDir);
        Assert.True(code == 0, err + stdout);
        Assert.Matches(@"\[1/2\] r2: done in [\d.]+s · count acc [\d.]+, count acc_norm [\d.]+, first exact_match [\d.]+, repeat exact_match [\d.]+, quiz acc [\d.]+, quiz acc_norm [\d.]+ · elapsed", stdout);
        foreach (var run in new[] { "r2", "r4" })
        {
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "runs", run, "eval.json")));
            var root = json.RootElement;
            Assert.Equal(["tasks", "stderr", "examples"], root.EnumerateObject().Select(p => p.Name));
            Assert.Equal(["count acc", "count acc_norm", "first exact_match", "repeat exact_match", "quiz acc", "quiz acc_norm"], root.GetProperty("tasks").EnumerateObject().Select(p => p.Name));
            Assert.All(root.GetProperty("tasks").EnumerateObject(), p => Assert.InRange(p.Value.GetDouble(), 0, 1));
            Assert.Equal(["count acc", "count acc_norm", "first exact_match", "repeat exact_match", "quiz acc", "quiz acc_norm"], root.GetProperty("stderr").EnumerateObject().Select(p => p.Name));
            Assert.Equal([("count", 2), ("first", 2), ("repeat", 2), ("quiz", 2)], root.GetProperty("examples").EnumerateObject().Select(p => (p.Name, p.Value.GetInt32())));
        }
        var csv = File.ReadAllLines(Path.Combine(outDir, "results.csv"));
        Assert.Equal("run,status,r,final train loss,final val loss,count acc,count acc_norm,first exact_match,repeat exact_match,quiz acc,quiz acc_norm,steps,trainable params,peak memory (MB),wall time (s),tokens/s", csv[0]);
        Assert.Matches(@"^r2,done,2,[\d.]+,[\d.]+,(0\.\d{4},|1\.0000,){6}2,\d+,\d+,[\d.]+,[\d.]+$", csv[1]);

        // a finished run without eval.json (an older sweep, a scoring interrupted) is scored when the sweep runs again
        var evalJson = Path.Combine(outDir, "runs", "r4", "eval.json");
        var scores = File.ReadAllText(evalJson);
        File.Delete(evalJson);
        (code, stdout, err) = CliRunner.Run("sweep", "--config", config, "--out", outDir);
        Assert.True(code == 0, err + stdout);
        Assert.Contains("[1/2] r2: skipped (already finished) · elapsed", stdout);
        Assert.Matches(@"\[2/2\] r4: skipped \(already finished\) · count acc [\d.]+, ", stdout);
        Assert.Equal(scores, File.ReadAllText(evalJson)); // the same weights, the same scores
    }

    [Fact]
    public void AScoringFailureLeavesTheRunDoneRecordsTheErrorAndSetsTheExitCode()
    {
        // the task file is read before the first run; its choice "" has no tokens, which only scoring finds
        var config = Sweep("eval:\n  - {task: mc, name: quiz, data: QUIZ}\n");
        var quiz = Path.Combine(Path.GetDirectoryName(config)!, "quiz.jsonl");
        File.WriteAllText(quiz, "{\"context\": \"Count the words.\", \"choices\": [\"one\", \"\"], \"gold\": 0}\n");
        var outDir = Path.Combine(TempDir.New(), "sweep");
        var (code, stdout, err) = CliRunner.Run("sweep", "--config", config, "--out", outDir);
        Assert.True(code == 1, $"exit {code}\n{err}{stdout}");
        Assert.Matches(@"\[1/2\] r2: done in [\d.]+s · task scores FAILED: example 1, choice 2: the choice has no tokens \(empty\) · elapsed", stdout);
        Assert.Contains("task scores failed for 2 of 2 runs (see eval-error.txt in their folders)", stdout);
        Assert.Contains("the choice has no tokens", File.ReadAllText(Path.Combine(outDir, "runs", "r2", "eval-error.txt")));
        Assert.False(File.Exists(Path.Combine(outDir, "runs", "r2", "eval.json")));
        Assert.Contains("(2 done)", stdout);
    }
}
