using LoraLab.Tests.IO;
using Xunit;

namespace LoraLab.Tests.Cli;

/// An older run.yaml may hold input paths relative to the folder that run started in: never resolved against
/// today's current folder, they must be given again.
[Collection("cli")]
public class RecordedPathTests
{
    /// A three-step demo run whose run.yaml records `key` as the relative path `relative`.
    static string RunRecording(string key, string relative)
    {
        var run = Path.Combine(TempDir.New(), "run");
        var (code, _, err) = CliRunner.Run(DemoRuns.Train(run, "--max-steps", "3", "--save-every", "1"));
        Assert.True(code == 0, err);
        var yaml = Path.Combine(run, "run.yaml");
        File.WriteAllLines(yaml, File.ReadAllLines(yaml).Select(l => l.StartsWith(key + ": ") ? $"{key}: {relative}" : l));
        return run;
    }

    [Fact]
    public void ResumeAsksForARelativeDataPathAgainAndTakesItWithoutAChange()
    {
        var run = RunRecording("data", "train.json");
        var checkpoint = Path.Combine(run, "checkpoints", "step-000001");
        var (code, _, err) = CliRunner.Run("train", "--resume", checkpoint);
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Equal($"error: {Path.Combine(run, "run.yaml")} records a relative data path train.json; pass --data again", err.Trim());

        (code, _, err) = CliRunner.Run("train", "--resume", checkpoint, "--data", Path.GetRelativePath(Environment.CurrentDirectory, DemoRuns.Data));
        Assert.True(code == 0, $"exit {code}: {err}");
    }

    [Fact]
    public void EvalRunAsksForARelativeModelPathAgain()
    {
        var run = RunRecording("model", "demo-base");
        var (code, _, err) = CliRunner.Run("eval", "--run", run, "--data", DemoRuns.Data);
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Equal($"error: {Path.Combine(run, "run.yaml")} records a relative model path demo-base; pass --model again", err.Trim());
        (code, _, err) = CliRunner.Run("eval", "--run", run, "--data", DemoRuns.Data, "--model", DemoRuns.Base);
        Assert.True(code == 0, $"exit {code}: {err}");
    }
}
