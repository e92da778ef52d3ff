using LoraLab.Configuration;
using LoraLab.Reporting;
using Xunit;

namespace LoraLab.Tests.Reporting;

/// The report's table over runs that differ in settings beyond its fixed columns (a sweep's runs).
public class ReportTableTests
{
    static RunHistory Run(string name, RunConfig c, Dictionary<string, double>? tasks = null, PreferenceCurves? rewards = null) => new()
    {
        Dir = name, Name = name, Config = c, TrainLoss = [new(1, 2.0)], ValLoss = [], LearningRate = [], TokensPerSecond = [],
        Rewards = rewards ?? new PreferenceCurves([], [], [], []),
        Steps = 1, Epochs = null, TrainableParameters = 10, PeakMemoryMb = 300, WallSeconds = 1, Tasks = tasks ?? [],
    };

    [Fact]
    public void SettingsThatDifferBeyondTheFixedColumnsGetColumnsAndSweepStdErrsDoNot()
    {
        var scores = new Dictionary<string, double> { ["tasks.count acc"] = 0.5, ["stderr.count acc"] = 0.1, ["examples.count"] = 16 };
        var table = ReportTable.Of([
            Run("sgd-cosine", new RunConfig { Optimizer = OptimizerKind.Sgd, Seed = 1 }, scores),
            Run("sgd-constant", new RunConfig { Optimizer = OptimizerKind.Sgd, Schedule = ScheduleKind.Constant, Seed = 1, Epochs = 2 }, scores),
        ]);
        Assert.Equal(["run", "method", "r", "alpha", "targets", "lr", "batch", "schedule", "steps"], table.Header.Take(9));
        Assert.Equal(["cosine", "constant"], table.Rows.Select(r => r[7]));
        Assert.Contains("eval tasks.count acc", table.Header);
        Assert.DoesNotContain(table.Header, h => h.Contains("stderr") || h.Contains("examples"));
        Assert.DoesNotContain("optimizer", table.Header); // the same in both: no column
        Assert.Single(table.Header, "epochs");              // the epochs run, not the setting again
    }

    [Fact]
    public void A_preference_run_shows_its_final_val_rewards_accuracy_and_settings_only_where_its_method_reads_them()
    {
        var dpo = new RunConfig { Method = TrainMethod.Dpo, Beta = 0.5 };
        var table = ReportTable.Of([
            Run("sft", new RunConfig()),
            Run("dpo", dpo, rewards: new PreferenceCurves([new(1, 0.5)], [new(1, 0.1)], [new(1, 0.75)], [new(1, 0.2)])),
        ]);
        int acc = table.Header.ToList().IndexOf("final val rewards accuracy"), beta = table.Header.ToList().IndexOf("beta");
        Assert.True(acc > 0 && beta > 0, string.Join(" | ", table.Header));
        Assert.Equal(["-", "0.750"], table.Rows.Select(r => r[acc]));
        Assert.Equal(["-", "0.5"], table.Rows.Select(r => r[beta]));
    }
}
