using System.Text.Json;
using System.Text.Json.Nodes;
using LoraLab.Tests.IO;
using Xunit;

namespace LoraLab.Tests.Cli;

/// `eval --run RUN_DIR` on a full fine-tune (model/, no adapter to carry the template): the run's recorded template
/// applies to instruction data only, and never counts as a --template the user typed.
[Collection("cli")]
public class EvalRunTests
{
    static string FullRun(string data, params string[] extra)
    {
        var run = Path.Combine(TempDir.New(), "run");
        var (code, _, err) = CliRunner.Run(DemoRuns.Train(run, new[] { "--method", "full", "--max-steps", "2" }.Concat(extra).ToArray())
            .Select(a => a == DemoRuns.Data ? data : a).ToArray());
        Assert.True(code == 0, err);
        return run;
    }

    static double LastValLoss(string run) => File.ReadLines(Path.Combine(run, "metrics.jsonl"))
        .Select(l => JsonNode.Parse(l)!).Last(r => r["val_loss"] is not null)["val_loss"]!.GetValue<double>();

    [Fact]
    public void AFullFineTuneOnTextDataIsScoredInFullWithOrWithoutRaw()
    {
        var text = Path.Combine(TempDir.New(), "text.jsonl");
        var records = JsonNode.Parse(File.ReadAllText(DemoRuns.Data))!.AsArray().Take(40)
            .Select(r => new JsonObject { ["text"] = $"{r!["instruction"]} {r["input"]} {r["output"]}" }.ToJsonString());
        File.WriteAllLines(text, records);
        var run = FullRun(text, "--template", "plain");

        foreach (var extra in new[] { Array.Empty<string>(), new[] { "--raw" } })
        {
            var (code, stdout, err) = CliRunner.Run(new[] { "eval", "--run", run, "--json" }.Concat(extra).ToArray());
            Assert.True(code == 0, $"exit {code} ({string.Join(" ", extra)}): {err}");
            Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(stdout).RootElement.GetProperty("template").ValueKind);
        }
    }

    [Fact]
    public void AFullFineTuneOnInstructionDataIsScoredWithItsRecordedTemplate()
    {
        var run = FullRun(DemoRuns.Data);
        var (code, stdout, err) = CliRunner.Run("eval", "--run", run, "--json");
        Assert.True(code == 0, $"exit {code}: {err}");
        var r = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal("alpaca", r.GetProperty("template").GetString());
        Assert.Equal(LastValLoss(run), r.GetProperty("loss").GetDouble(), 1e-4);
    }
}
