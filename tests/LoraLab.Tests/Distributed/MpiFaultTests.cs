using System.Diagnostics;
using LoraLab.ModelFiles;
using LoraLab.Adapters;
using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.Distributed;

/// A rank that dies or hangs ends the whole job with a message, in bounded time, leaving a loadable checkpoint that
/// one process resumes exactly.
[Collection("mpirun")]
public class MpiFaultTests
{
    static readonly string[] Flags = ["--batch-size", "8", "--micro-batch-size", "8"];

    [MpirunFact]
    public void KillingRankOneEndsTheJobAndOneProcessResumesTheCurveExactly()
    {
        var dir = TempDir.New("mpi-kill");
        var (outDir, alone) = (Path.Combine(dir, "ranks"), Path.Combine(dir, "alone"));
        string[] flags = [.. Flags, "--max-steps", "10", "--save-every", "2"];
        using (var job = Mpirun.Start(2, DemoRuns.Distributed(outDir, flags)))
        {
            var first = Path.Combine(outDir, RunFolder.CheckpointsFolder, "step-000002");
            var ranks = job.Ranks(2);
            WaitFor(() => Directory.Exists(first) || job.HasExited, job);
            Assert.False(job.HasExited, "the job ended before a rank could be killed:\n" + job.Stdout + job.Stderr);
            job.SignalRank(ranks[1], Mpirun.SigKill);
            var killed = Stopwatch.StartNew();
            var (rc, stdout, stderr, _) = job.Wait(TimeSpan.FromSeconds(60));
            Assert.True(killed.Elapsed.TotalSeconds < 60);
            Assert.NotEqual(0, rc);
            var said = stdout + stderr;
            Assert.True(said.Contains("exited on signal 9") || said.Contains("stopping: mpirun sent SIGTERM"), said);
            Assert.False(Directory.Exists(Path.Combine(outDir, RunFolder.Adapter)), "the job finished before the kill took effect");
        }

        // The last checkpoint is whole: every tensor reads back finite.
        var last = Directory.GetDirectories(Path.Combine(outDir, RunFolder.CheckpointsFolder)).Order().Last();
        using (var weights = SafeTensorsFile.Open(Path.Combine(last, PeftFormat.WeightsFile)))
            foreach (var name in weights.Names)
                using (var t = weights.Read(name)) Assert.True(t.isfinite().all().item<bool>(), name);

        var resumed = CliRunner.RunProcess("train", "--resume", outDir); // one plain process: no mpirun
        Assert.True(resumed.Rc == 0, resumed.Stderr);
        Assert.Contains($"resumed from {last}", resumed.Stdout.Replace("\n", ""));
        Assert.Contains("note: --distributed mpi, but this process was not started by mpirun, so it trains alone", resumed.Stderr);
        var (rcAlone, _, errAlone) = CliRunner.RunProcess(DemoRuns.Train(alone, flags));
        Assert.True(rcAlone == 0, errAlone);
        DemoRuns.AssertSameCurve(alone, outDir);
        DemoRuns.AssertSameWeights(Path.Combine(alone, RunFolder.Adapter), Path.Combine(outDir, RunFolder.Adapter));
    }

    [MpirunFact]
    public void StoppingRankOneEndsTheJobThroughTheWatchdog()
    {
        var outDir = Path.Combine(TempDir.New("mpi-hang"), "run");
        int stoppedPid;
        using (var job = Mpirun.Start(2, DemoRuns.Distributed(outDir, [.. Flags, "--max-steps", "500", "--distributed-timeout", "5"])))
        {
            var ranks = job.Ranks(2);
            stoppedPid = ranks[1];
            WaitFor(() => File.Exists(Path.Combine(outDir, RunFolder.Metrics)) || job.HasExited, job); // training has begun
            job.SignalRank(ranks[1], Mpirun.SigStop);
            var stopped = Stopwatch.StartNew();
            var (rc, stdout, stderr, _) = job.Wait(TimeSpan.FromSeconds(60));
            Assert.True(stopped.Elapsed.TotalSeconds < 30, $"the job took {stopped.Elapsed.TotalSeconds:0} s to end");
            Assert.NotEqual(0, rc);
            Assert.Contains("no answer from the other ranks for 5 s", stdout + stderr);
        } // Dispose sends SIGKILL to the stopped rank
        WaitFor(() => !Directory.Exists($"/proc/{stoppedPid}") || File.ReadAllText($"/proc/{stoppedPid}/stat").Contains(") Z"), null);
    }

    /// A learning setting, or one that decides which exchanges run (--eval-every: a rank validating while the other
    /// sums gradients once crashed the job), differs between ranks: both refuse before step 1.
    [MpirunTheory]
    [InlineData("--lr", "1e-3", "2e-3")]
    [InlineData("--eval-every", "1", "0")]
    public void RanksWithDifferentSettingsRefuseBeforeStepOne(string flag, string first, string second)
    {
        var outDir = Path.Combine(TempDir.New("mpi-differ"), "run");
        using var job = Mpirun.StartMpmd([
            (1, DemoRuns.Distributed(outDir, [.. Flags, "--max-steps", "2", flag, first])),
            (1, DemoRuns.Distributed(outDir, [.. Flags, "--max-steps", "2", flag, second])),
        ]);
        var (rc, stdout, stderr, _) = job.Wait(TimeSpan.FromMinutes(2));
        Assert.NotEqual(0, rc);
        Assert.Contains("the ranks are not training the same run, these differ from rank 0's: rank 1's settings", stderr);
        Assert.False(File.Exists(Path.Combine(outDir, RunFolder.Metrics)), stdout);
    }

    [MpirunFact]
    public void AMicroBatchSmallerThanTheRanksIsRefused()
    {
        var outDir = Path.Combine(TempDir.New("mpi-mb1"), "run");
        var (rc, stdout, stderr, _) = Mpirun.Run(2, DemoRuns.Distributed(outDir, "--batch-size", "8", "--micro-batch-size", "1", "--max-steps", "2"));
        Assert.NotEqual(0, rc);
        Assert.Contains("error: --micro-batch-size 1 is smaller than the job's 2 ranks, so some would idle: raise it to at least 2", stderr);
        Assert.False(File.Exists(Path.Combine(outDir, RunFolder.Metrics)), stdout);
    }

    static void WaitFor(Func<bool> done, Mpirun? job)
    {
        var sw = Stopwatch.StartNew();
        while (!done())
        {
            if (sw.Elapsed.TotalSeconds > 60) Assert.Fail("timed out" + (job is null ? "" : ":\n" + job.Stdout + job.Stderr));
            Thread.Sleep(50);
        }
    }
}
