using System.Text;
using LoraLab.Sweeps;
using Xunit;

namespace LoraLab.Tests.Sweeps;

/// Task-score and tokens/s columns and the seed groups of results.md / results-by-seed.csv, on hand-written run
/// folders (run.yaml, metrics.jsonl, eval.json, a final adapter), the numbers worked out by hand.
public class SweepSeedGroupTests
{
    static void Run(string dir, string name, int r, int seed, double finalLoss, double countAcc, double[] tokensPerS, bool done = true)
    {
        var run = Directory.CreateDirectory(Path.Combine(dir, "runs", name)).FullName;
        File.WriteAllText(Path.Combine(run, "run.yaml"), $"r: {r}\nseed: {seed}\n");
        var rows = tokensPerS.Select((t, i) =>
            $"{{\"type\":\"train\",\"step\":{i + 1},\"loss\":{(i == tokensPerS.Length - 1 ? finalLoss : 9.0)},\"tokens_per_s\":{t},\"rss_mb\":100,\"elapsed_s\":{i + 1}}}");
        File.WriteAllText(Path.Combine(run, "metrics.jsonl"), string.Join("\n", rows) + "\n");
        if (!done) { File.WriteAllText(Path.Combine(run, "error.txt"), "error: boom\n"); return; }
        File.WriteAllText(Path.Combine(run, "eval.json"),
            $"{{\"tasks\": {{\"count acc\": {countAcc}, \"first exact_match\": 0.25}}, \"stderr\": {{\"count acc\": 0.1, \"first exact_match\": null}}, \"examples\": {{\"count\": 4, \"first\": 4}}}}");
        // a safetensors file of one 2×3 tensor: the run's final adapter
        var header = Encoding.UTF8.GetBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}");
        var adapter = Directory.CreateDirectory(Path.Combine(run, "adapter")).FullName;
        File.WriteAllBytes(Path.Combine(adapter, "adapter_model.safetensors"), [.. BitConverter.GetBytes((long)header.Length), .. header, .. new byte[24]]);
    }

    [Fact]
    public void TaskScoresAndTokensPerSecondAreColumnsAndSeedRepeatsAreGroupedAsMeanAndSampleStd()
    {
        var dir = TempDir.New();
        Run(dir, "a", 4, 1, 2.0, 0.5, [100, 200, 400]); // tokens/s after the first row: (200 + 400) / 2 = 300
        Run(dir, "b", 4, 2, 2.4, 0.7, [50, 500]);
        Run(dir, "c", 4, 3, 2.2, 0.9, [700]);            // the only row: 700
        Run(dir, "d", 8, 1, 1.0, 1.0, [10, 20]);         // another r: a group of one, not listed
        Run(dir, "e", 4, 4, 5.0, 0.0, [10, 20], done: false); // failed: not in the group

        SweepResults.Write(dir);
        var csv = File.ReadAllLines(Path.Combine(dir, "results.csv"));
        Assert.Equal("run,status,seed,r,final train loss,final val loss,count acc,first exact_match,steps,trainable params,peak memory (MB),wall time (s),tokens/s", csv[0]);
        Assert.Equal("a,done,1,4,2.0000,,0.5000,0.2500,3,6,100,3.0,300.0", csv[1]);
        Assert.Equal("c,done,3,4,2.2000,,0.9000,0.2500,1,6,100,1.0,700.0", csv[3]);
        Assert.Equal("e,failed,4,4,5.0000,,,,2,,100,2.0,20.0", csv[5]);

        // mean of 2.0, 2.4, 2.2 = 2.2; sample std √((0.04 + 0.04 + 0) / 2) = 0.2; count acc 0.5, 0.7, 0.9: 0.7 ± 0.2;
        // tokens/s 300, 500, 700: 500 ± 200; steps 3, 2, 1: 2 ± 1
        var bySeed = File.ReadAllLines(Path.Combine(dir, "results-by-seed.csv"));
        Assert.Equal(2, bySeed.Length);
        var cells = bySeed[0].Split(',').Zip(bySeed[1].Split(',')).ToDictionary(p => p.First, p => p.Second);
        Assert.Equal(("4", "3"), (cells["r"], cells["seeds"]));
        Assert.False(cells.ContainsKey("seed"));
        Assert.Equal(("2.2000", "0.2000"), (cells["final train loss mean"], cells["final train loss std"]));
        Assert.Equal(("0.7000", "0.2000"), (cells["count acc mean"], cells["count acc std"]));
        Assert.Equal(("0.2500", "0.0000"), (cells["first exact_match mean"], cells["first exact_match std"]));
        Assert.Equal(("500.0", "200.0"), (cells["tokens/s mean"], cells["tokens/s std"]));
        Assert.Equal(("2", "1"), (cells["steps mean"], cells["steps std"]));
        Assert.Equal(("", ""), (cells["final val loss mean"], cells["final val loss std"]));

        var md = File.ReadAllText(Path.Combine(dir, "results.md"));
        Assert.Contains("\n## Runs that differ only by seed\n\n| r | seeds | final train loss | final val loss | count acc | first exact_match | steps |", md);
        Assert.Contains("| 4 | 3 | 2.2000 ± 0.2000 | - | 0.7000 ± 0.2000 | 0.2500 ± 0.0000 | 2 ± 1 | 6 ± 0 | 100 ± 0 | 2.0 ± 1.0 | 500.0 ± 200.0 |\n", md);
    }

    [Fact]
    public void WithoutRepeatsThereIsNoSeedTable()
    {
        var dir = TempDir.New();
        Run(dir, "a", 4, 1, 2.0, 0.5, [100]);
        Run(dir, "b", 8, 1, 2.4, 0.7, [50]);
        File.WriteAllText(Path.Combine(dir, "results-by-seed.csv"), "stale\n");
        SweepResults.Write(dir);
        Assert.False(File.Exists(Path.Combine(dir, "results-by-seed.csv")));
        Assert.DoesNotContain("differ only by seed", File.ReadAllText(Path.Combine(dir, "results.md")));
    }

    /// The same settings and the same seed twice (a configuration a sweep trains twice under two names) is not seed
    /// noise: no group, rather than a std of 0 that would read as "no noise".
    [Fact]
    public void TheSameSeedTwiceIsNotASeedGroup()
    {
        var dir = TempDir.New();
        Run(dir, "a", 4, 1, 2.0, 0.5, [100]);
        Run(dir, "a-again", 4, 1, 2.0, 0.5, [100]);
        SweepResults.Write(dir);
        Assert.False(File.Exists(Path.Combine(dir, "results-by-seed.csv")));
        Run(dir, "b", 4, 2, 2.4, 0.7, [50]);
        SweepResults.Write(dir);
        Assert.True(File.Exists(Path.Combine(dir, "results-by-seed.csv")));          // two distinct seeds now
        Assert.StartsWith("2,", File.ReadAllLines(Path.Combine(dir, "results-by-seed.csv"))[1]); // seeds: a and b, not a-again
    }

    [Fact]
    public void MeanStdIsTheSampleStandardDeviation()
    {
        Assert.Equal((5.0, null), SweepSeedGroups.MeanStd([5]));
        var (mean, std) = SweepSeedGroups.MeanStd([2, 4, 4, 4, 5, 5, 7, 9]);
        Assert.Equal(5.0, mean);
        Assert.Equal(Math.Sqrt(32.0 / 7), std!.Value, 12);
    }
}
