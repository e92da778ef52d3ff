using System.Text.Json;
using LoraLab.Demo;
using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.Demo;

public class DemoRunnerTests
{
    /// Trains nothing: the demo must then report the same numbers before and after.
    sealed class NoOpTrainer : IAdapterTrainer
    {
        public int Calls;
        public string Method => "none";
        public double DefaultLr => 1e-3;
        public AdapterTrainingOutcome Train(AdapterTrainingRequest r, Action<StepReport>? onStep, CancellationToken cancel)
        {
            Calls++;
            Assert.True(r.Train.Examples.Count > 0);
            Assert.Equal(7, r.Options.MaxSteps);
            return new AdapterTrainingOutcome(Method, new TrainResult(0, 0, 0, null, null, false, null, []), 0, 1, r.OutDir, null);
        }
    }

    [Fact]
    public void RunsTheHookBetweenTwoMeasurementsAndWritesAReport()
    {
        var outDir = TempDir.New("demo");
        try
        {
            var trainer = new NoOpTrainer();
            var report = new DemoRunner(new DemoOptions { OutDir = outDir, Steps = 7, HeldOutPerTask = 2, MaxNewTokens = 6 }, trainer).Run();
            Assert.Equal(1, trainer.Calls);
            Assert.Equal(report.Before.Accuracy, report.After.Accuracy);
            Assert.Equal(report.Before.ValLoss, report.After.ValLoss, 5);
            Assert.Equal(report.Before.Samples.Select(s => s.Generated), report.After.Samples.Select(s => s.Generated));
            Assert.Equal(3, report.Shown.Count);
            Assert.Equal(3, report.Shown.Select(s => s.Before.Task).Distinct().Count());
            Assert.True(report.Before.ValLoss > 0);
            using var json = JsonDocument.Parse(File.ReadAllText(report.ReportPath));
            Assert.Equal(report.Before.Count, json.RootElement.GetProperty("before").GetProperty("examples").GetInt32());
            // the built-in tasks, scored before and after: unchanged by a trainer that changes nothing
            Assert.Equal(["count (multiple choice) acc", "count (multiple choice) acc_norm", "first word (generation) exact_match"], report.TasksBefore.Select(t => t.Metric));
            Assert.Equal(report.TasksBefore.Select(t => t.Value), report.TasksAfter.Select(t => t.Value));
            Assert.All(report.TasksBefore, t => Assert.Equal(2, t.Count));
            Assert.Equal(3, json.RootElement.GetProperty("tasks").GetArrayLength());

            // A second run into the same folder needs --overwrite.
            Assert.Throws<UserException>(() => new DemoRunner(new DemoOptions { OutDir = outDir, Steps = 7, HeldOutPerTask = 1 }, trainer).Run());
        }
        finally { if (Directory.Exists(outDir)) Directory.Delete(outDir, true); }
    }

    /// The demo's default method end to end for a few steps: a PEFT adapter with its provenance, a merged model folder,
    /// and the model measured after training computes with the adapter.
    [Fact]
    public void LoraTrainerSavesAPeftAdapterAndAMergedModel()
    {
        var outDir = TempDir.New("demo-lora");
        try
        {
            var report = new DemoRunner(new DemoOptions { OutDir = outDir, Steps = 4, HeldOutPerTask = 1, MaxNewTokens = 4, BatchSize = 4, MicroBatchSize = 4 },
                new LoraDemoTrainer(rank: 4, alpha: 8)).Run();
            Assert.Equal(4, report.Training.Training.Steps);
            Assert.True(File.Exists(Path.Combine(report.Training.SavedDir, "adapter_config.json")));
            Assert.True(File.Exists(Path.Combine(report.Training.SavedDir, "adapter_model.safetensors")));
            Assert.True(File.Exists(Path.Combine(report.Training.SavedDir, "loralab_adapter.json")));
            Assert.True(File.Exists(Path.Combine(report.Training.MergedDir!, "model.safetensors")));
            Assert.True(report.Training.TrainableParameters < report.Training.TotalParameters / 2);
            Assert.NotEqual(report.Before.ValLoss, report.After.ValLoss);
        }
        finally { if (Directory.Exists(outDir)) Directory.Delete(outDir, true); }
    }

    /// `demo --dpo`: after SFT, a DPO run from the SFT adapter on the demo's pairs, measured on the held-out pairs for
    /// base, SFT and DPO (rewards against the base), and on the held-out prompts after DPO.
    [Fact]
    public void DpoStageTrainsFromTheSftAdapterAndScoresThreeModels()
    {
        var outDir = TempDir.New("demo-dpo");
        try
        {
            var options = new DemoOptions { OutDir = outDir, Steps = 4, HeldOutPerTask = 1, MaxNewTokens = 4, BatchSize = 4, MicroBatchSize = 4,
                Dpo = new DemoDpoOptions { Steps = 3, Lr = 1e-2 } };
            Assert.Contains("--dpo", Assert.Throws<UserException>(() => new DemoRunner(options, new FullFineTuneTrainer()).Run()).Message);
            var report = new DemoRunner(options, new LoraDemoTrainer(rank: 4, alpha: 8)).Run();
            var d = report.Dpo!;
            Assert.Equal(3, d.Training.Steps);
            Assert.Equal((1200, 125), (d.TrainPairs, d.HeldOutPairs));
            double Get(IReadOnlyList<LoraLab.Evaluation.Tasks.TaskScore> s, string m) => s.Single(t => t.Metric == m).Value;
            // the base is its own reference: every reward 0, no pair "won"
            Assert.Equal(0, Get(d.PrefsBase, "rewards_margin"));
            Assert.Equal(0, Get(d.PrefsBase, "rewards_accuracy"));
            Assert.NotEqual(0, Get(d.PrefsSft, "rewards_margin"));
            Assert.NotEqual(Get(d.PrefsSft, "rewards_margin"), Get(d.PrefsDpo, "rewards_margin"));
            Assert.Equal(report.After.Count, d.After.Count);
            Assert.True(File.Exists(Path.Combine(d.AdapterDir, "adapter_model.safetensors")));
            var reference = PeftFormatRef(d.RunDir);
            Assert.Equal(Path.GetFullPath(report.Training.SavedDir), Path.GetFullPath(reference));
            Assert.Contains("\"val_rewards_accuracy\"", File.ReadAllText(Path.Combine(d.RunDir, "metrics.jsonl")));
            // the held-out pairs beside run.yaml, so `eval --run OUT/dpo` scores the stage like any run
            Assert.Equal(d.HeldOutPairs, File.ReadAllLines(Path.Combine(d.RunDir, RunFolder.Validation)).Length);
            using var json = JsonDocument.Parse(File.ReadAllText(report.ReportPath));
            var rewards = json.RootElement.GetProperty("dpo").GetProperty("rewards");
            Assert.Equal(["base", "sft", "dpo"], rewards.EnumerateObject().Select(p => p.Name));
            Assert.Equal(Get(d.PrefsDpo, "rewards_accuracy"), rewards.GetProperty("dpo").GetProperty("rewards_accuracy").GetDouble());
        }
        finally { if (Directory.Exists(outDir)) Directory.Delete(outDir, true); }
    }

    /// The reference adapter the DPO run's run.yaml records.
    static string PeftFormatRef(string runDir) =>
        LoraLab.Configuration.RunConfig.LoadYaml(Path.Combine(runDir, RunFolder.RunYaml)).RefAdapter!;
}
