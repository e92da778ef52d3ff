using LoraLab.Configuration;
using LoraLab.Data;
using LoraLab.Data.Preferences;
using LoraLab.Evaluation.Tasks;
using LoraLab.Models;
using LoraLab.Tokenization;
using LoraLab.Training;

namespace LoraLab.Demo;

/// `demo --dpo`: the DPO stage's settings, chosen by a sweep of lr × beta from the demo's SFT adapter (60 steps, 16
/// pairs; 2026-12-07, 2-core AMD EPYC): lr 1e-3 drove "repeat" exact match to 0 % (beta 0.1) or 80 % (beta 0.5); lr
/// 2e-4 kept every task at its SFT score, and beta 0.5 reached 92.8 % held-out rewards accuracy against the SFT
/// reference (beta 0.1: 85.6 %).
public sealed record DemoDpoOptions
{
    public double Beta { get; init; } = 0.5;
    public double Lr { get; init; } = 2e-4;
    public int Steps { get; init; } = 60;
}

/// What the DPO stage measured: the held-out pairs' scores (PreferenceTask, against the base with the adapter off) for
/// the base, the SFT adapter and the DPO adapter; the DPO adapter's held-out generations; and its training run.
public sealed record DemoDpoReport(DemoDpoOptions Options, int TrainPairs, int HeldOutPairs,
    IReadOnlyList<TaskScore> PrefsBase, IReadOnlyList<TaskScore> PrefsSft, IReadOnlyList<TaskScore> PrefsDpo,
    HeldOutScore After, TrainResult Training, string RunDir, string AdapterDir);

/// The DPO stage after the demo's SFT: a `train --method dpo --ref-adapter SFT_ADAPTER` run (TrainingRun.Prepare) of
/// the demo base on the built-in preference pairs, written to OUT/dpo, then measured as the demo measures.
public static class DemoDpoStage
{
    public const string Folder = "dpo";

    /// The held-out pairs, read from the demo data folder.
    public static IReadOnlyList<PreferenceRecord> HeldOutPairs(string dataDir) =>
        PreferenceReader.Load(Path.Combine(dataDir, DemoAssets.PrefsHeldOutFile));

    /// Rewards of `model` (its adapter on) against the base (adapter off) on the held-out pairs, at the stage's beta.
    public static IReadOnlyList<TaskScore> Score(CausalLM model, ITokenizer tok, IReadOnlyList<PreferenceRecord> pairs, DemoDpoOptions o, string dataDir) =>
        PreferenceTask.Score(model, tok, new AlpacaTemplate(), pairs, o.Beta, Path.Combine(dataDir, DemoAssets.PrefsHeldOutFile));

    public static DemoDpoReport Run(DemoDpoOptions o, DemoOptions demo, string baseDir, string dataDir, string sftAdapter,
        IReadOnlyList<PreferenceRecord> heldPairs, IReadOnlyList<TaskScore> prefsBase, IReadOnlyList<TaskScore> prefsSft,
        Func<CausalLM, HeldOutScore> measure, Action<string>? message, Action<StepReport>? onStep, CancellationToken cancel)
    {
        var runDir = Path.Combine(demo.OutDir, Folder);
        // Inside the demo's claimed folder: a previous demo's stage is replaced (the claim allowed it).
        if (Directory.Exists(runDir)) Directory.Delete(runDir, recursive: true);
        Directory.CreateDirectory(runDir);
        var c = new RunConfig
        {
            Model = baseDir, Data = Path.Combine(dataDir, DemoAssets.PrefsTrainFile), ValData = Path.Combine(dataDir, DemoAssets.PrefsHeldOutFile),
            Out = runDir, Method = TrainMethod.Dpo, RefAdapter = sftAdapter, Beta = o.Beta, Template = "alpaca", MaxSeqLength = 256,
            Lr = o.Lr, BatchSize = demo.BatchSize, MicroBatchSize = demo.MicroBatchSize, MaxSteps = o.Steps, Seed = demo.Seed,
            Schedule = ScheduleKind.Cosine, WarmupSteps = Math.Min(20, o.Steps / 10), LogEvery = 10, LoraDropout = 0,
        };
        using var run = TrainingRun.Prepare(c, message);
        message?.Invoke($"DPO (beta {o.Beta:G}, from the SFT adapter {sftAdapter}): {o.Steps} steps of {demo.BatchSize} pairs, lr {o.Lr:G3}; train {run.TrainSummary}");
        // run.yaml as `train` writes it, so `report OUT/dpo` and `eval` read the stage like any run
        File.WriteAllText(Path.Combine(runDir, RunFolder.RunYaml), RunRecord.ForYaml(run.Config, run.Trainer, null).ToYaml());
        PreferenceJsonl.Write(Path.Combine(runDir, RunFolder.Validation), run.Preferences!.ValidationRecords);
        if (onStep is not null) run.Trainer.Step += onStep;
        var result = run.Trainer.Run(null, cancel);
        run.Loaded.Model.eval();
        var adapterDir = Path.Combine(runDir, "adapter");
        AtomicDirectory.Write(adapterDir, run.Store.Save);
        var prefsDpo = Score(run.Loaded.Model, run.Tokenizer, heldPairs, o, dataDir);
        var after = measure(run.Loaded.Model);
        return new DemoDpoReport(o, run.Preferences!.Train.Stats.Pairs, heldPairs.Count, prefsBase, prefsSft, prefsDpo, after, result, runDir, adapterDir);
    }
}
