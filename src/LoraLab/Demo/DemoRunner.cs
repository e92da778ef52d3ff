using LoraLab.ModelFiles;
using System.Diagnostics;
using System.Text.Json;
using LoraLab.Data;
using LoraLab.Data.Demo;
using LoraLab.IO;
using LoraLab.Models;
using LoraLab.Tokenization;
using LoraLab.Training;

namespace LoraLab.Demo;

public sealed record DemoOptions
{
    /// Where the run writes its metrics, trained weights and report.
    public string OutDir { get; init; } = "runs/demo";
    public bool Overwrite { get; init; }
    /// The `assets` folder with demo-base and demo-data; null = <see cref="DemoAssets.Locate"/>.
    public string? AssetsDir { get; init; }
    public int Steps { get; init; } = 200;
    public int Seed { get; init; } = 42;
    /// auto, fp32 or bf16 (train's --precision; auto measures the machine: ComputePrecision).
    public LoraLab.Configuration.Precision Precision { get; init; } = LoraLab.Configuration.Precision.Auto;
    /// Null = the fine-tuning method's default.
    public double? Lr { get; init; }
    public int BatchSize { get; init; } = 16;
    public int MicroBatchSize { get; init; } = 16;
    public int MaxNewTokens { get; init; } = LoraLab.Evaluation.Tasks.DemoWorldTasks.MaxNewTokens;
    /// Held-out generations shown before and after.
    public int ShownSamples { get; init; } = 3;
    /// Use only the first N held-out examples of each task (null = all), for quick checks.
    public int? HeldOutPerTask { get; init; }
    /// `demo --dpo`: a DPO stage after SFT, from the SFT adapter (null = SFT only, the plain demo).
    public DemoDpoOptions? Dpo { get; init; }
}

/// Everything the demo measured, and where it wrote its files.
public sealed record DemoReport(string BaseDir, string OutDir, string ReportPath, int TrainExamples, int HeldOutExamples,
    HeldOutScore Before, HeldOutScore After, AdapterTrainingOutcome Training,
    IReadOnlyList<(GenerationSample Before, GenerationSample After)> Shown, double Seconds,
    IReadOnlyList<LoraLab.Evaluation.Tasks.TaskScore> TasksBefore, IReadOnlyList<LoraLab.Evaluation.Tasks.TaskScore> TasksAfter)
{
    /// The DPO stage's measurements (`demo --dpo`), null for the plain demo.
    public DemoDpoReport? Dpo { get; init; }
}

/// The built-in demo: measures the committed demo base on held-out instruction tasks, fine-tunes it on the
/// training tasks through an <see cref="IAdapterTrainer"/>, measures again, and saves the result.
public sealed class DemoRunner(DemoOptions options, IAdapterTrainer trainer)
{
    public event Action<string>? Message;
    public event Action<StepReport>? Step;
    /// (phase, done, total) while generating held-out answers.
    public event Action<string, int, int>? Progress;

    public DemoReport Run(CancellationToken cancel = default)
    {
        var clock = Stopwatch.StartNew();
        if (options.Dpo is not null && trainer is not LoraDemoTrainer)
            throw new UserException($"--dpo: the DPO stage starts from the SFT stage's LoRA adapter; use --method lora, not '{trainer.Method}'");
        var assets = options.AssetsDir ?? DemoAssets.Locate();
        var baseDir = Path.Combine(assets, DemoAssets.BaseFolder);
        var dataDir = Path.Combine(assets, DemoAssets.DataFolder);
        // --overwrite replaces the demo's own outputs; other files in the folder are left alone.
        using var outLock = OutputFolder.Claim(options.OutDir, options.Overwrite, [new("--assets", baseDir), new("--assets", dataDir)]);
        if (options.Precision is LoraLab.Configuration.Precision.Fp16Mixed) throw new UserException("--precision: the demo takes auto, fp32 or bf16");
        var run = new LoraLab.Configuration.RunConfig { Method = trainer is LoraDemoTrainer ? LoraLab.Configuration.TrainMethod.Lora : LoraLab.Configuration.TrainMethod.Full, Precision = options.Precision };
        var precision = RunSetup.Precision(run, TorchSharp.torch.CPU, LoraLab.Runtime.ProbeShape.OfFolder(baseDir));
        using var loaded = ModelLoader.Load(baseDir, RunSetup.LoadOptionsFor(run, TorchSharp.torch.CPU, precision.Dtype));
        var tokenizer = loaded.RequireTokenizer();
        Message?.Invoke($"base model: {baseDir} ({ModelShapes.TotalParameters(loaded.Config):N0} parameters)");
        Message?.Invoke($"precision: {precision}");

        var trainRecords = DatasetReader.Load(Path.Combine(dataDir, DemoAssets.TrainFile));
        var heldRecords = DatasetReader.Load(Path.Combine(dataDir, DemoAssets.HeldOutFile));
        if (options.HeldOutPerTask is int k)
            heldRecords = heldRecords.GroupBy(r => (r as AlpacaRecord)?.Instruction).SelectMany(g => g.Take(k)).ToList();
        var heldOut = DemoTasks.FromRecords(heldRecords);
        var builder = new ExampleBuilder(tokenizer, new AlpacaTemplate(), new ExampleBuilderOptions { MaxSeqLength = 256 });
        var train = builder.Build(trainRecords);
        var held = builder.Build(heldRecords);
        Message?.Invoke($"data: {train.Examples.Count} training and {held.Examples.Count} held-out examples ({dataDir})");

        var before = HeldOutEvaluator.Evaluate(loaded.Model, tokenizer, builder, heldOut, held, options.MaxNewTokens, (i, n) => Progress?.Invoke("base", i, n));
        Message?.Invoke($"base: held-out accuracy {before.Accuracy:P1}, validation loss {before.ValLoss:F3}");
        // after the held-out measurement, which it does not change (no random numbers drawn, the model left in eval mode)
        var tasksBefore = LoraLab.Evaluation.Tasks.DemoWorldTasks.Score(loaded.Model, builder, heldOut, options.MaxNewTokens);
        var heldPairs = options.Dpo is null ? null : DemoDpoStage.HeldOutPairs(dataDir);
        var prefsBase = options.Dpo is null ? null : DemoDpoStage.Score(loaded.Model, tokenizer, heldPairs!, options.Dpo, dataDir);

        var trainOptions = new LoraLab.Configuration.RunConfig
        {
            Lr = options.Lr ?? trainer.DefaultLr, BatchSize = options.BatchSize, MicroBatchSize = options.MicroBatchSize,
            MaxSteps = options.Steps, Seed = options.Seed, Schedule = LoraLab.Configuration.ScheduleKind.Cosine, WarmupSteps = Math.Min(20, options.Steps / 10),
            LogEvery = 10,
        };
        var outcome = TrainAdapter(new AdapterTrainingRequest(loaded.Model, tokenizer, baseDir, train, held, trainOptions, options.OutDir), cancel);

        var after = HeldOutEvaluator.Evaluate(loaded.Model, tokenizer, builder, heldOut, held, options.MaxNewTokens, (i, n) => Progress?.Invoke("tuned", i, n));
        Message?.Invoke($"tuned: held-out accuracy {after.Accuracy:P1}, validation loss {after.ValLoss:F3}");
        var tasksAfter = LoraLab.Evaluation.Tasks.DemoWorldTasks.Score(loaded.Model, builder, heldOut, options.MaxNewTokens);
        DemoDpoReport? dpo = null;
        if (options.Dpo is { } d)
        {
            var prefsSft = DemoDpoStage.Score(loaded.Model, tokenizer, heldPairs!, d, dataDir);
            dpo = DemoDpoStage.Run(d, options, baseDir, dataDir, outcome.SavedDir, heldPairs!, prefsBase!, prefsSft,
                model => HeldOutEvaluator.Evaluate(model, tokenizer, builder, heldOut, held, options.MaxNewTokens, (i, n) => Progress?.Invoke("dpo", i, n)),
                Message, Step, cancel);
            Message?.Invoke($"dpo: held-out accuracy {dpo.After.Accuracy:P1}, validation loss {dpo.After.ValLoss:F3}");
        }

        var shown = ShownIndices(heldOut, options.ShownSamples).Select(i => (before.Samples[i], after.Samples[i])).ToList();
        var reportPath = Path.Combine(options.OutDir, "demo_report.json");
        var report = new DemoReport(baseDir, options.OutDir, reportPath, train.Examples.Count, held.Examples.Count,
            before, after, outcome, shown, clock.Elapsed.TotalSeconds, tasksBefore, tasksAfter) { Dpo = dpo };
        WriteReport(report);
        return report;
    }

    // ---- The fine-tuning step ------------------------------------------------------------------------------
    // The one method that depends on how the base is tuned. The demo's default trainer is chosen by the caller
    // (DemoCommand): full fine-tuning today; LoRA plugs in here as another IAdapterTrainer, which saves the
    // adapter in PEFT form and the merged model, and leaves the model computing with the adapter.
    AdapterTrainingOutcome TrainAdapter(AdapterTrainingRequest request, CancellationToken cancel)
    {
        Message?.Invoke($"fine-tuning ({trainer.Method}): {request.Options.MaxSteps} steps of {request.Options.BatchSize} examples, lr {request.Options.Lr:G3}");
        var outcome = trainer.Train(request, Step, cancel);
        Message?.Invoke($"trained {outcome.TrainableParameters:N0} of {outcome.TotalParameters:N0} parameters in {outcome.Training.Seconds:F0}s; saved to {outcome.SavedDir}");
        return outcome;
    }
    // ---------------------------------------------------------------------------------------------------------

    /// One example of each of the first tasks, so the shown generations cover different tasks.
    static IEnumerable<int> ShownIndices(IReadOnlyList<DemoExample> examples, int count) =>
        examples.Select((e, i) => (e.Task, i)).GroupBy(p => p.Task).Select(g => g.First().i).Take(count);

    static double? Finite(double x) => double.IsFinite(x) ? x : null;

    static void WriteReport(DemoReport r)
    {
        object Score(HeldOutScore s) => new
        {
            accuracy = s.Accuracy, val_loss = s.ValLoss, stop_share = s.StopShare, examples = s.Count, task_accuracy = s.TaskAccuracy,
            samples = s.Samples.Select(x => new { task = x.Task, input = x.Input, expected = x.Expected, generated = x.Generated, correct = x.Correct, stopped = x.Stopped }),
        };
        object? Dpo(DemoDpoReport? d) => d is null ? null : new
        {
            beta = d.Options.Beta, lr = d.Options.Lr, steps = d.Training.Steps, train_seconds = d.Training.Seconds, train_pairs = d.TrainPairs,
            heldout_pairs = d.HeldOutPairs, run = d.RunDir, adapter = d.AdapterDir, after = Score(d.After),
            rewards = new[] { ("base", d.PrefsBase), ("sft", d.PrefsSft), ("dpo", d.PrefsDpo) }
                .ToDictionary(p => p.Item1, p => p.Item2.ToDictionary(t => t.Metric, t => t.Value)),
        };
        var json = new
        {
            base_model = r.BaseDir, method = r.Training.Method, steps = r.Training.Training.Steps, train_seconds = r.Training.Training.Seconds,
            trainable_parameters = r.Training.TrainableParameters, total_parameters = r.Training.TotalParameters,
            saved = r.Training.SavedDir, merged = r.Training.MergedDir, train_examples = r.TrainExamples, heldout_examples = r.HeldOutExamples,
            before = Score(r.Before), after = Score(r.After), seconds = r.Seconds,
            tasks = r.TasksBefore.Zip(r.TasksAfter, (b, a) => new { metric = b.Metric, examples = b.Count, before = b.Value, before_stderr = Finite(b.StdErr), after = a.Value, after_stderr = Finite(a.StdErr) }),
        };
        var indented = new JsonSerializerOptions { WriteIndented = true };
        if (r.Dpo is null) { File.WriteAllText(r.ReportPath, JsonSerializer.Serialize(json, indented) + "\n"); return; }
        // `demo --dpo` adds its stage; the plain demo's report stays as it was.
        var node = JsonSerializer.SerializeToNode(json)!.AsObject();
        node["dpo"] = JsonSerializer.SerializeToNode(Dpo(r.Dpo));
        File.WriteAllText(r.ReportPath, node.ToJsonString(indented) + "\n");
    }
}
