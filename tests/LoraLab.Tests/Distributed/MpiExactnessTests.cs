using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.Distributed;

/// 2 ranks of `mpirun` train exactly what one process trains with the same flags (--batch-size and
/// --micro-batch-size are the whole job's): every train and val loss within 1e-5 relative, the final weights within
/// 1e-5 absolute.
[Collection("mpirun")]
public class MpiExactnessTests
{
    /// Runs the flags as one process and as 2 ranks, and compares.
    static (string Alone, string Ranks) TrainBoth(string finalFolder, params string[] flags)
    {
        var dir = TempDir.New("mpi-exact");
        var (alone, ranks) = (Path.Combine(dir, "alone"), Path.Combine(dir, "ranks"));
        var (rc, _, err) = CliRunner.RunProcess(DemoRuns.Train(alone, flags));
        Assert.True(rc == 0, err);
        var job = Mpirun.Run(2, DemoRuns.Distributed(ranks, flags));
        Assert.True(job.Rc == 0, job.Stdout + job.Stderr);
        DemoRuns.AssertSameCurve(alone, ranks);
        DemoRuns.AssertSameWeights(Path.Combine(alone, finalFolder), Path.Combine(ranks, finalFolder));
        return (alone, ranks);
    }

    [MpirunFact]
    public void LoraWithShardedValidationEqualsOneProcess()
    {
        var (_, ranks) = TrainBoth(RunFolder.Adapter, "--batch-size", "8", "--micro-batch-size", "8", "--max-steps", "4", "--eval-every", "2");
        Assert.Equal(["train 1", "train 2", "eval 2", "train 3", "train 4", "eval 4"], DemoRuns.Curve(ranks).Select(p => p.Key));
    }

    [MpirunFact]
    public void LoraWithGradientAccumulationEqualsOneProcess() =>
        TrainBoth(RunFolder.Adapter, "--batch-size", "16", "--micro-batch-size", "8", "--max-steps", "3");

    [MpirunFact]
    public void FullFineTuningEqualsOneProcess() =>
        TrainBoth(RunFolder.Model, "--method", "full", "--batch-size", "8", "--micro-batch-size", "8", "--max-steps", "3", "--lr", "1e-4");
}
