using LoraLab.Configuration;
using LoraLab.Runtime;
using LoraLab.Sweeps;
using Xunit;

namespace LoraLab.Tests.Sweeps;

/// Sweep files: parsing (errors by file:line:key), expansion to runs, their names, and shards.
public class SweepPlanTests
{
    const string Base = "base:\n  model: m\n  data: d.json\n  lora: {alpha: 32}\n";

    static List<PlannedRun> Plan(string text) => SweepPlan.Expand(SweepYaml.Parse("sweep.yaml", text), "out");

    static string Error(string text) => Assert.Throws<UserException>(() => Plan(text)).Message;

    [Fact]
    public void AGridExpandsToEveryCombinationInWrittenOrderOverTheBase()
    {
        var runs = Plan(Base + "grid:\n  lora.r: [16, 8]\n  lr: [1e-4, 3e-4, 0.001]\n");
        Assert.Equal(["r16-lr0.0001", "r16-lr0.0003", "r16-lr0.001", "r8-lr0.0001", "r8-lr0.0003", "r8-lr0.001"], runs.Select(r => r.Name));
        Assert.Equal([0, 1, 2, 3, 4, 5], runs.Select(r => r.Index));
        Assert.Equal((8, 3e-4, 32.0, "m"), (runs[4].Config.R, runs[4].Config.Lr, runs[4].Config.Alpha, runs[4].Config.Model));
        Assert.Equal(Path.Combine("out", "runs", "r8-lr0.0003"), runs[4].Config.Out);
        Assert.Equal([("r", "8"), ("lr", "0.0003")], runs[4].Varied);
        // defaults stay where neither base nor the run sets them
        Assert.Equal(new RunConfig().Seed, runs[0].Config.Seed);
    }

    [Fact]
    public void ExplicitRunsFollowTheGridEachOverTheBaseAlone()
    {
        var runs = Plan(Base + "grid:\n  seed: [1, 2]\nruns:\n  - {name: big, r: 64, alpha: 128}\n  - method: qlora\n    targets: q_proj,v_proj\n  - {}\n");
        Assert.Equal(["seed1", "seed2", "big", "method_qlora-targets_q_proj_v_proj", "base"], runs.Select(r => r.Name));
        Assert.Equal((64, 128.0, 42), (runs[2].Config.R, runs[2].Config.Alpha, runs[2].Config.Seed));
        Assert.Equal((TrainMethod.Qlora, "q_proj,v_proj", 32.0), (runs[3].Config.Method, runs[3].Config.Targets, runs[3].Config.Alpha));
    }

    [Fact]
    public void NamesAreMadeUniqueAndGivenNamesAreKept()
    {
        var runs = Plan(Base + "runs:\n  - {r: 4}\n  - {r: 4, seed: 42}\n  - {name: r4-seed42}\n  - {lora: {r: 4}}\n  - {name: R4-2, lr: 1e-3}\n");
        // the fourth derives r4 again: r4-2 is taken by the given R4-2 (case-insensitively, one folder on macOS), so r4-3
        Assert.Equal(["r4", "r4-seed42-2", "r4-seed42", "r4-3", "R4-2"], runs.Select(r => r.Name));
        Assert.Equal(runs.Count, runs.Select(r => r.Name.ToLowerInvariant()).Distinct().Count());
    }

    [Fact]
    public void DerivedNamesAreFilesystemSafe()
    {
        var runs = Plan(Base + "grid:\n  targets: ['q_proj,v_proj', 'all']\n  rank_pattern: ['layers.0.*=4']\n");
        Assert.All(runs, r => Assert.Null(RunNames.Unsafe(r.Name)));
        Assert.Equal("targets_q_proj_v_proj-rank_pattern_layers.0.__4", runs[0].Name);
    }

    [Theory]
    [InlineData(Base + "grid:\n  lora.rr: [4]\n", "sweep.yaml:6: grid: unknown setting 'lora.rr' (did you mean 'lora.r'?)")]
    [InlineData(Base + "gird:\n  r: [4]\n", "sweep.yaml:5: unknown key 'gird' (did you mean 'grid'?)")]
    [InlineData(Base + "runs:\n  - {naem: x}\n", "sweep.yaml:6: unknown key 'naem' (did you mean 'name'?)")]
    [InlineData("base:\n  modle: m\nruns: [{}]\n", "sweep.yaml:2: unknown key 'modle' (did you mean 'model'?)")]
    [InlineData(Base + "grid:\n  r: [4, x]\n", "sweep.yaml:6: r")]
    [InlineData(Base + "grid:\n  r: 4\n", "sweep.yaml:6: expected grid: r: a list of values")]
    [InlineData(Base + "grid:\n  r: []\n", "sweep.yaml:6: grid: r: the list of values is empty")]
    [InlineData(Base + "runs:\n  - {name: a/b}\n", "sweep.yaml:6: name: 'a/b' may hold only letters")]
    [InlineData(Base + "runs:\n  - {name: a}\n  - {name: a, r: 2}\n", "sweep.yaml:7: name: 'a' is used by two runs")]
    [InlineData(Base + "runs:\n  - {out: x}\n", "sweep.yaml:6: runs: out: each run's folder is set by the sweep")]
    [InlineData(Base, "sweep.yaml: no runs")]
    [InlineData("base:\n  model: m\ngrid:\n  r: [4]\n", "run 'r4' (sweep.yaml:4: grid.r): --data is required")]
    [InlineData(Base + "grid:\n  batch_size: [6]\n  micro_batch_size: [4]\n", "run 'batch_size6-micro_batch_size4' (sweep.yaml:6: grid.batch_size): sweep.yaml:6: grid.batch_size (6) must be a multiple of sweep.yaml:7: grid.micro_batch_size (4)")]
    public void ErrorsNameTheFileLineAndKey(string text, string expected) => Assert.StartsWith(expected, Error(text));

    [Fact]
    public void ShardsPartitionTheRunsDisjointlyAndCoverThemAll()
    {
        var runs = Plan(Base + "grid:\n  r: [2, 4, 8]\n  seed: [1, 2, 3]\n  lr: [1e-4, 2e-4]\n");
        Assert.Equal(18, runs.Count);
        foreach (var n in new[] { 1, 2, 4, 5, 18, 25 })
        {
            var shards = Enumerable.Range(0, n).Select(i => Shard.Parse($"{i}/{n}").Take(runs).Select(r => r.Name).ToList()).ToList();
            Assert.Equal(runs.Count, shards.Sum(s => s.Count)); // disjoint ...
            Assert.Equal(runs.Select(r => r.Name).Order(), shards.SelectMany(s => s).Order()); // ... and together all of them
            Assert.True(shards.Max(s => s.Count) - shards.Min(s => s.Count) <= 1, $"{n} shards are unbalanced");
        }
        Assert.Equal(["r2-seed1-lr0.0002", "r2-seed3-lr0.0002"], Shard.Parse("1/4").Take(runs).Take(2).Select(r => r.Name));
    }

    [Theory]
    [InlineData("2/2", "--shard 2/2: the shard index must be 0 to 1 (shards are counted from 0)")]
    [InlineData("-1/2", "--shard -1/2: the shard index must be 0 to 1")]
    [InlineData("1/0", "--shard 1/0: the shard count must be at least 1")]
    [InlineData("1", "--shard 1: expected i/n")]
    public void BadShardsAreRefused(string text, string expected) =>
        Assert.StartsWith(expected, Assert.Throws<UserException>(() => Shard.Parse(text)).Message);
}
