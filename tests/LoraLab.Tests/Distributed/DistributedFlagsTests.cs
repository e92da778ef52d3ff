using LoraLab.Demo;
using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.Distributed;

/// --distributed and --distributed-timeout as `train` takes them, in-process.
[Collection("cli")]
public class DistributedFlagsTests
{
    static string Assets => DemoAssets.Locate();

    [Fact]
    public void HelpListsBothFlags()
    {
        var (code, output, _) = CliRunner.Run("train", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--distributed <MODE>", output);
        Assert.Contains("--distributed-timeout <SECONDS>", output);
    }

    [Fact]
    public void PreferenceRunsRefuseMpi()
    {
        var outDir = Path.Combine(TempDir.New("dist-dpo"), "run");
        var (code, _, err) = CliRunner.Run("train", "--model", Path.Combine(Assets, DemoAssets.BaseFolder), "--method", "dpo",
            "--data", Path.Combine(Assets, DemoAssets.DataFolder, DemoAssets.PrefsTrainFile), "--out", outDir, "--distributed", "mpi");
        Assert.Equal(2, code);
        Assert.Equal("error: --distributed mpi: preference runs (dpo, orpo) train on one process; use --distributed none", err.Trim());
        Assert.False(Directory.Exists(outDir));
    }

    /// Under a second, or past what the watchdog's timer can hold (it crashed with an internal error there).
    [Theory]
    [InlineData("0")]
    [InlineData("5000000")]
    public void ATimeoutOutsideItsRangeIsRefused(string seconds)
    {
        var (code, _, err) = CliRunner.Run(DemoRuns.Distributed(Path.Combine(TempDir.New("dist-timeout"), "run"), "--distributed-timeout", seconds));
        Assert.Equal(2, code);
        Assert.Equal($"error: --distributed-timeout must be between 1 and 1000000, got {seconds}", err.Trim());
    }

    [Fact]
    public void OutsideMpirunItSaysSoAndTrainsAlone()
    {
        Assert.Null(LoraLab.Distributed.MpiLaunch.FromEnvironment()); // the test process is not a rank
        var outDir = Path.Combine(TempDir.New("dist-alone"), "run");
        var (code, output, err) = CliRunner.Run(DemoRuns.Distributed(outDir, "--batch-size", "4", "--micro-batch-size", "4", "--max-steps", "2"));
        Assert.True(code == 0, err);
        Assert.Contains("note: --distributed mpi, but this process was not started by mpirun, so it trains alone; start every rank with `mpirun -np N loralab train ...`", err);
        Assert.DoesNotContain("data parallel", output);
        Assert.Equal(["train 1", "train 2", "eval 2"], DemoRuns.Curve(outDir).Select(p => p.Key));
    }
}
