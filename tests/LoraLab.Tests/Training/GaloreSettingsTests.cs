using LoraLab.Configuration;
using LoraLab.Training;
using TorchSharp;
using Xunit;

namespace LoraLab.Tests.Training;

/// `--method galore` trains every weight as `--method full` does (fp32 master weights, no adapter), refuses what
/// only an adapter or another optimizer reads, and its own settings are refused on every other method.
public class GaloreSettingsTests
{
    static UserException Refused(RunConfig c) => Assert.Throws<UserException>(() => c.Validate(inputs: false));

    [Fact]
    public void ItTrainsEveryWeightWithFp32MasterWeights()
    {
        var c = new RunConfig { Method = TrainMethod.Galore };
        Assert.True(c.Method.TrainsEveryWeight());
        Assert.Null(RunSetup.Lora(c, null));
        Assert.Equal(torch.ScalarType.Float32, RunSetup.WeightDtype(c, torch.ScalarType.BFloat16));
        c.Validate(inputs: false);
    }

    [Fact]
    public void AdapterOnlySettingsAreRefusedAsForFullFineTuning()
    {
        Assert.Contains("--loraplus-lr-ratio sets lora_B's learning rate; --method galore trains no adapter",
            Refused(new RunConfig { Method = TrainMethod.Galore, LoraplusLrRatio = 16 }).Message);
        Assert.Contains("fp16-mixed keeps fp32 weights only for adapters; for --method galore use fp32 or bf16",
            Refused(new RunConfig { Method = TrainMethod.Galore, Precision = Precision.Fp16Mixed }).Message);
        Assert.Contains("--streams 2: the embedding or output layer is trained",
            Refused(new RunConfig { Method = TrainMethod.Galore, Streams = 2 }).Message);
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd, "sgd")]
    [InlineData(OptimizerKind.Adam, "adam")]
    public void OtherOptimizersAreRefused(OptimizerKind kind, string name) =>
        Assert.Contains($"--optimizer {name}: --method galore projects AdamW's moments; use --optimizer adamw",
            Refused(new RunConfig { Method = TrainMethod.Galore, Optimizer = kind }).Message);

    [Theory]
    [InlineData("lora", "galore_rank", "16", "--galore-rank")]
    [InlineData("full", "galore_update_every", "50", "--galore-update-every")]
    [InlineData("qlora", "galore_scale", "0.5", "--galore-scale")]
    public void GaloreSettingsAreRefusedOnOtherMethods(string method, string key, string value, string flag)
    {
        var c = new RunConfig();
        c.Set("method", method);
        c.Set(key, value, flag);
        Assert.Equal($"{flag} applies to --method galore only", Refused(c).Message);
    }

    [Fact]
    public void RanksAndIntervalsBelowOneAreRefused()
    {
        var c = new RunConfig { Method = TrainMethod.Galore };
        c.Set("galore_rank", "0", "--galore-rank");
        c.Set("galore_update_every", "0", "--galore-update-every");
        var e = Refused(c).Message;
        Assert.Contains("--galore-rank", e);
        Assert.Contains("--galore-update-every", e);
    }

    /// run.yaml writes the GaLore settings for galore runs only.
    [Fact]
    public void RunYamlWritesThemForGaloreOnly()
    {
        Assert.Contains("galore_update_every: 200", new RunConfig { Method = TrainMethod.Galore, GaloreRank = 8 }.ToYaml());
        Assert.Contains("galore_rank: 8", new RunConfig { Method = TrainMethod.Galore, GaloreRank = 8 }.ToYaml());
        Assert.DoesNotContain("galore", new RunConfig { Method = TrainMethod.Full }.ToYaml());
    }
}
