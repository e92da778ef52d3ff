using LoraLab.Adapters;
using LoraLab.Configuration;
using LoraLab.Demo;
using LoraLab.Sweeps;
using LoraLab.Sweeps.Methods;
using Xunit;

namespace LoraLab.Tests.Sweeps;

/// The methods preset's sweep file: every run on the same data, batches and steps, each differing from lora-seed1 by
/// its method's settings alone, at the learning rates MethodsPlan documents.
public class MethodsPlanTests
{
    [Theory]
    [InlineData("full", 75, 18)]
    [InlineData("quick", 60, 15)]
    public void EveryMethodTrainsTheSameStepsOnTheSameDataAndDiffersFromLoraByItsSettingsAlone(string scaleName, int steps, int reloraEvery)
    {
        var scale = scaleName == "full" ? MethodsScale.Full : MethodsScale.Quick;
        Assert.Equal(steps, scale.Steps);
        Assert.Equal(reloraEvery, MethodsPlan.ReloraEvery(scale));
        Assert.True(steps / reloraEvery >= 4, "several restarts");
        var dir = TempDir.New();
        var assets = DemoAssets.Locate();
        var (train, held) = MethodsPlan.WriteData(dir, scale, assets);
        Assert.Equal(3 * scale.TrainPerTask, train);
        Assert.Equal(scale == MethodsScale.Full ? 125 : 3 * scale.HeldOutPerTask, held); // the demo holds out 25 repeat examples
        var path = Path.Combine(dir, MethodsPlan.SweepFile);
        File.WriteAllText(path, MethodsPlan.SweepYaml(dir, scale, assets));
        var plan = SweepPlan.Expand(SweepYaml.Load(path), dir);
        Assert.Equal(MethodsRuns.All, plan.Select(p => p.Name));
        var byName = plan.ToDictionary(p => p.Name, p => p.Config);

        var lora = byName[MethodsRuns.Lora];
        Assert.Equal((TrainMethod.Lora, 16, 32.0, "all", OptimizerKind.AdamW, ScheduleKind.Cosine, 3e-3, scale.Epochs, scale.BatchSize, 1),
            (lora.Method, lora.R, lora.Alpha, lora.Targets, lora.Optimizer, lora.Schedule, lora.Lr, lora.Epochs, lora.BatchSize, lora.Seed));
        foreach (var c in byName.Values)
            Assert.Equal((lora.Data, lora.ValData, lora.BatchSize, lora.MicroBatchSize, lora.Epochs, lora.MaxSeqLength, lora.R),
                (c.Data, c.ValData, c.BatchSize, c.MicroBatchSize, c.Epochs, c.MaxSeqLength, c.R));

        // the settings in which each run's run.yaml differs from lora-seed1's (besides its name and folder)
        var expected = new Dictionary<string, string[]>
        {
            [MethodsRuns.Seed(2)] = ["seed: 2"], [MethodsRuns.Seed(3)] = ["seed: 3"],
            [MethodsRuns.Dora] = ["use_dora: true"], [MethodsRuns.Pissa] = ["init: pissa"], [MethodsRuns.LoraPlus] = ["loraplus_lr_ratio: 16"],
            [MethodsRuns.Relora] = [$"relora_every: {reloraEvery}"],
            // galore_update_every: its default, which run.yaml writes for --method galore only
            [MethodsRuns.Galore] = ["method: galore", "lr: 0.002", "galore_scale: 1", "galore_update_every: 200"], [MethodsRuns.Full] = ["method: full", "lr: 0.001"],
        };
        var baseLines = Lines(lora);
        foreach (var (run, settings) in expected)
            Assert.Equal(settings.Order(), Lines(byName[run]).Except(baseLines).Where(l => !l.StartsWith("out:")).Order());
        Assert.Equal(LoraInit.Pissa, byName[MethodsRuns.Pissa].Init);
    }

    static IEnumerable<string> Lines(RunConfig c) => c.ToYaml().Split('\n').Where(l => l.Length > 0 && !l.StartsWith(' '));
}
