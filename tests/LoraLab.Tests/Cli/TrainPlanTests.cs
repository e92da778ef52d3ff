using System.Text.Json;
using LoraLab.Tests.Adapters;
using Xunit;

namespace LoraLab.Tests.Cli;

/// What `train` and `estimate` tell the user before the work starts: no misleading line, a warning where a
/// setting cannot work.
[Collection("cli")]
public class TrainPlanTests
{
    static string[] Train(string model, params string[] extra) => new[]
    {
        "train", "--model", model, "--data", LoraTestModels.Instructions,
        "--out", Path.Combine(TempDir.New(), "run"), "--batch-size", "2", "--micro-batch-size", "2", "--max-seq-length", "64",
        "--max-steps", "1", "--threads", "1", "--stop-rate-prompts", "0",
    }.Concat(extra).ToArray();

    [Fact]
    public void SgdAtAnAdamSizedRateIsWarnedAndFullFineTuningFreezesNothing()
    {
        var model = LoraTestModels.TinyChatModel();
        var (code, stdout, err) = CliRunner.Run(Train(model, "--optimizer", "sgd"));
        Assert.True(code == 0, err + stdout);
        Assert.Contains("--optimizer sgd at --lr 0.0003 will barely learn", stdout);
        Assert.Contains("frozen projection weights", stdout);

        (code, stdout, err) = CliRunner.Run(Train(model, "--optimizer", "sgd", "--lr", "0.05"));
        Assert.True(code == 0, err + stdout);
        Assert.DoesNotContain("will barely learn", stdout);

        (code, stdout, err) = CliRunner.Run(Train(model, "--method", "full"));
        Assert.True(code == 0, err + stdout);
        Assert.DoesNotContain("frozen", stdout);
    }

    [Fact]
    public void EstimateShowsTheOriginalExperimentOnlyForItsOwnSettings()
    {
        double? Reference(params string[] extra)
        {
            var (code, stdout, err) = CliRunner.Run(new[] { "estimate", "--arch", "llama-2-7b", "--precision", "bf16", "--device", "cuda", "--targets", "all", "--json" }.Concat(extra).ToArray());
            Assert.True(code == 0, err);
            var r = JsonDocument.Parse(stdout).RootElement[0].GetProperty("reference_gb");
            return r.ValueKind == JsonValueKind.Null ? null : r.GetDouble();
        }
        Assert.Equal(16.62, Reference());
        Assert.Null(Reference("--r", "256"));
        Assert.Null(Reference("--grad-checkpointing"));
    }
}
