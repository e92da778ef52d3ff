using System.Text.Json;
using LoraLab.Adapters;
using LoraLab.ModelFiles;
using Xunit;

namespace LoraLab.Tests.Training;

/// `train --dora` is in `train --help`, trains the demo model with a falling loss into a PEFT DoRA adapter, and
/// `params` / `estimate` count the magnitude vectors.
[Collection("cli")]
public class DoraTrainingTests
{
    [Fact]
    public void TrainsTheDemoWithAFallingLossIntoAPeftDoraAdapter()
    {
        var (helpCode, help, _) = CliRunner.Run("train", "--help");
        Assert.Equal(0, helpCode);
        Assert.Contains("--dora", help);

        var (outDir, losses, _) = DemoTrainRun.Run(30, "--dora", "--targets", "all");
        DemoTrainRun.AssertFalls(losses);
        Assert.Contains("use_dora: true", File.ReadAllText(Path.Combine(outDir, "run.yaml")));

        var adapter = Path.Combine(outDir, "adapter");
        Assert.True(PeftFormat.ReadConfig(adapter).UseDora);
        using var file = SafeTensorsFile.Open(Path.Combine(adapter, PeftFormat.WeightsFile));
        var magnitudes = file.Names.Where(n => n.EndsWith(".lora_magnitude_vector", StringComparison.Ordinal)).ToArray();
        Assert.Equal(file.Names.Count(n => n.EndsWith(".lora_A.weight", StringComparison.Ordinal)), magnitudes.Length);
        Assert.NotEmpty(magnitudes);
    }

    [Fact]
    public void ParamsAndEstimateCountTheMagnitudes()
    {
        long Trainable(params string[] extra)
        {
            var (code, stdout, err) = CliRunner.Run(["params", "--arch", "llama-2-7b", "--targets", "all", "--r", "8", "--json", .. extra]);
            Assert.True(code == 0, err);
            return JsonDocument.Parse(stdout).RootElement.GetProperty("trainable_params").GetInt64();
        }
        // per layer: q, k, v, o (4096 each), gate, up (11008), down (4096): 42,496 magnitudes, 32 layers
        Assert.Equal(32L * 42_496, Trainable("--dora") - Trainable());

        double Adapter(params string[] extra)
        {
            var (code, stdout, err) = CliRunner.Run(["estimate", "--arch", "llama-2-7b", "--targets", "all", "--r", "8", "--precision", "bf16", "--json", .. extra]);
            Assert.True(code == 0, err);
            return JsonDocument.Parse(stdout).RootElement[0].GetProperty("total_mb").GetDouble();
        }
        Assert.True(Adapter("--dora") > Adapter());
        var (fullCode, _, fullErr) = CliRunner.Run("estimate", "--arch", "tiny", "--method", "full", "--dora");
        Assert.NotEqual(0, fullCode);
        Assert.Contains("--method full", fullErr);
    }

    [Fact]
    public void FullFineTuningRefusesDora()
    {
        var e = Assert.Throws<UserException>(() => new LoraLab.Configuration.RunConfig { Method = LoraLab.Configuration.TrainMethod.Full, UseDora = true }.Validate(inputs: false));
        Assert.Contains("--use-dora", e.Message);
    }
}

/// `train --init pissa` / `olora` are in `train --help`, train the demo model with a falling loss, and save the adapter
/// converted to the original base (rank 2r), which says so in the run's log.
[Collection("cli")]
public class PrincipalInitTrainingTests
{
    [Theory]
    [InlineData("pissa")]
    [InlineData("olora")]
    public void TrainsTheDemoWithAFallingLossAndSavesTheConvertedAdapter(string init)
    {
        var (helpCode, help, _) = CliRunner.Run("train", "--help");
        Assert.Equal(0, helpCode);
        Assert.Contains("--init", help);
        Assert.Contains("pissa-fast", help);

        var (outDir, losses, stdout) = DemoTrainRun.Run(30, "--init", init, "--r", "8", "--alpha", "16");
        Assert.Contains("converted to the original", stdout);
        DemoTrainRun.AssertFalls(losses);
        Assert.Contains($"init: {init}", File.ReadAllText(Path.Combine(outDir, "run.yaml")));
        var saved = PeftFormat.ReadConfig(Path.Combine(outDir, "adapter"));
        Assert.Equal((16, 32.0, LoraInit.Kaiming), (saved.R, saved.Alpha, saved.Init));
    }
}
