using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.Distributed;

/// In a 2-rank job rank 0 alone writes the run folder and prints; rank 1 prints nothing but errors.
[Collection("mpirun")]
public class MpiRankZeroWritesTests
{
    [MpirunFact]
    public void OneMetricsLogOneCheckpointEachOnePlanAndSummary()
    {
        var outDir = Path.Combine(TempDir.New("mpi-writes"), "run");
        using var job = Mpirun.StartMpmd([(2, DemoRuns.Distributed(outDir,
            "--batch-size", "8", "--micro-batch-size", "8", "--max-steps", "4", "--save-every", "2", "--eval-every", "2"))], tagOutput: true);
        var (rc, stdout, stderr, _) = job.Wait(TimeSpan.FromMinutes(3));
        Assert.True(rc == 0, stdout + stderr);

        Assert.Equal(["train 1", "train 2", "eval 2", "train 3", "train 4", "eval 4"], DemoRuns.Curve(outDir).Select(p => p.Key));
        Assert.Equal(["step-000002", "step-000004"], Directory.GetFileSystemEntries(Path.Combine(outDir, RunFolder.CheckpointsFolder)).Select(Path.GetFileName).Order());
        Assert.Equal([RunFolder.Adapter, RunFolder.CheckpointsFolder, RunFolder.Metrics, RunFolder.RunYaml, RunFolder.Validation],
            Directory.GetFileSystemEntries(outDir).Select(Path.GetFileName).Order()); // no second writer's leftovers
        Assert.Contains("distributed: mpi", File.ReadAllLines(Path.Combine(outDir, RunFolder.RunYaml)).Select(l => l.Trim()));

        var printed = Mpirun.ByRank(stdout, "stdout");
        var main = printed[0];
        Assert.Equal(1, Count(main, "loralab train"));
        Assert.Equal(1, Count(main, "data parallel: 2 ranks over mpi"));
        Assert.Equal(1, Count(main, "final train loss"));
        Assert.Equal(1, Count(main, "checkpoint saved: " + Path.Combine(outDir, RunFolder.CheckpointsFolder, "step-000002")));
        Assert.True(printed.GetValueOrDefault(1, "").Trim() == "", $"rank 1 printed:\n{printed[1]}");
        Assert.True(Mpirun.ByRank(stderr, "stderr").Values.All(s => s.Trim() == ""), stderr);
    }

    static int Count(string text, string what) => (text.Length - text.Replace(what, "").Length) / what.Length;
}
