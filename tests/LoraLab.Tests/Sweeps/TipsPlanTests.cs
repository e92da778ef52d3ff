using LoraLab.Configuration;
using LoraLab.Demo;
using LoraLab.Sweeps;
using LoraLab.Sweeps.Presets;
using LoraLab.Sweeps.Tips;
using Xunit;

namespace LoraLab.Tests.Sweeps;

/// The lora-tips preset's sweep file and the rule its verdicts use.
public class TipsPlanTests
{
    [Theory]
    [InlineData("full", 3 + 1 + 3 + 2 + 2 + 2 + 11 + 2)]
    [InlineData("quick", 3 + 1 + 3 + 2 + 2 + 2 + 5 + 2)]
    public void ThePresetSweepPlansEveryFindingsRunsEachDifferingFromTheBaselineByItsSetting(string scaleName, int runs)
    {
        var scale = scaleName == "full" ? TipsScale.Full : TipsScale.Quick;
        var dir = TempDir.New();
        var assets = DemoAssets.Locate();
        TipsPlan.WriteData(dir, scale, assets);
        var path = Path.Combine(dir, TipsPlan.SweepFile);
        File.WriteAllText(path, TipsPlan.SweepYaml(dir, scale, assets));
        var plan = SweepPlan.Expand(SweepYaml.Load(path), dir);
        Assert.Equal(runs, plan.Count);
        var byName = plan.ToDictionary(p => p.Name, p => p.Config);
        var baseline = byName[TipsRuns.Baseline];
        Assert.Equal((TrainMethod.Lora, 16, 32.0, "all", OptimizerKind.AdamW, ScheduleKind.Cosine, 1, 1),
            (baseline.Method, baseline.R, baseline.Alpha, baseline.Targets, baseline.Optimizer, baseline.Schedule, baseline.Epochs, baseline.Seed));
        Assert.Equal(TrainMethod.Qlora, byName[TipsRuns.Qlora].Method);
        Assert.Equal((OptimizerKind.Sgd, ScheduleKind.Constant), (byName[TipsRuns.SgdConstant].Optimizer, byName[TipsRuns.SgdConstant].Schedule));
        Assert.Equal(4, byName[TipsRuns.Epochs(4)].Epochs);
        Assert.Equal((4, 16.0), (byName["r4-alpha16"].R, byName["r4-alpha16"].Alpha));
        Assert.Equal(3, byName[TipsRuns.Seed(3)].Seed);
        Assert.EndsWith("count.json", byName[TipsRuns.CountOnly].Data);
        // every run differs from the baseline in the settings its finding is about, and nowhere else
        Assert.Equal(baseline.ToYaml().Replace(TipsRuns.Baseline, TipsRuns.Qlora).Replace("method: lora", "method: qlora"), byName[TipsRuns.Qlora].ToYaml());

        var data = Path.Combine(dir, TipsPlan.DataFolder);
        Assert.Equal(3 * scale.TrainPerTask, CountRecords(Path.Combine(data, TipsPlan.TrainData)));
        Assert.Equal(scale.TrainPerTask, CountRecords(Path.Combine(data, TipsPlan.FamilyData("count"))));
        // the demo's held-out set has fewer than 50 repeat examples (one held-out word each): all of them at full scale
        Assert.Equal(scale == TipsScale.Full ? 125 : 3 * scale.HeldOutPerTask, CountRecords(Path.Combine(data, TipsPlan.HeldOutData)));
    }

    static int CountRecords(string path) => System.Text.Json.JsonDocument.Parse(File.ReadAllText(path)).RootElement.GetArrayLength();

    [Fact]
    public void ADifferenceCountsOnlyAboveTwiceTheSeedSpreadAndTwoPercent()
    {
        var rule = new NoiseRule(new Dictionary<string, double> { ["loss"] = 0.05, ["mem"] = 0 });
        Assert.Equal(0, rule.Compare("loss", 1.09, 1.0));   // 0.09 < 2 × 0.05
        Assert.Equal(1, rule.Compare("loss", 1.11, 1.0));
        Assert.Equal(-1, rule.Compare("loss", 0.89, 1.0));
        Assert.Equal(0, rule.Compare("mem", 405, 400));     // no seed spread: 2% of 400 = 8 is the floor
        Assert.Equal(1, rule.Compare("mem", 409, 400));
        Assert.Equal(0, rule.Compare("unknown", 1.01, 1.0));
        var scores = new NoiseRule(new Dictionary<string, double> { ["acc"] = 0 }, new Dictionary<string, double> { ["acc"] = 1.0 / 16 });
        Assert.Equal(0, scores.Compare("acc", 1.0 / 16, 0));  // one example of 16 is the resolution, not a difference
        Assert.Equal(1, scores.Compare("acc", 2.0 / 16, 0));
        // one example of 50, as results.csv prints the scores: 0.96 - 0.94 is a hair above 0.02 in doubles
        var fifty = new NoiseRule(new Dictionary<string, double> { ["acc"] = 0 }, new Dictionary<string, double> { ["acc"] = 1.0 / 50 });
        Assert.True(0.96 - 0.94 > 1.0 / 50);
        Assert.Equal(0, fifty.Compare("acc", 0.94, 0.96));
        Assert.Equal(-1, fifty.Compare("acc", 0.92, 0.96));
    }

    [Fact]
    public void CsvFieldsSplitAsSweepResultsWritesThem()
    {
        var line = SweepResults.Csv(["a", "b,c", "d\"e"], [])[..^1];
        Assert.Equal(["a", "b,c", "d\"e"], SweepNumbers.SplitCsv(line));
        Assert.Equal(["", "x", ""], SweepNumbers.SplitCsv(",x,"));
    }
}
