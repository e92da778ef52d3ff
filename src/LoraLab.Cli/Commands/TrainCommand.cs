using LoraLab.Adapters;
using LoraLab.Configuration;
using LoraLab.Data;
using LoraLab.Distributed;
using LoraLab.Evaluation;
using LoraLab.IO;
using LoraLab.Runtime;
using LoraLab.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

/// `loralab train`: fine-tune a base model (LoRA, QLoRA or full) on an instruction dataset.
public sealed class TrainCommand : Command<TrainSettings>
{
    public override int Execute(CommandContext context, TrainSettings s, CancellationToken cancellation)
    {
        SweepChild.EndWithParent(); // a run of a killed sweep ends with it
        // --resume RUN_DIR (or a checkpoint inside it) starts from the run's run.yaml; --config and flags go over it.
        var resume = s.Resume is null ? null : ResumePoint.Locate(s.Resume);
        // A run.yaml given as --config gives its settings only: what that run did is not this run's record.
        var given = (s.ConfigFile is null ? new SettingLayer() : RunConfigYaml.Load(s.ConfigFile).Settings).Then(s.ToLayer());
        var recorded = resume?.Recorded(given);
        var config = (recorded ?? new RunConfig()).With(given);
        config.Validate();
        IReadOnlyList<(string Key, string Old, string New)> changes = recorded is null ? [] : RunRecord.Changes(recorded, config);
        if (changes.Count > 0 && !s.AllowConfigChange) throw new UserException(RunRecord.Refusal(resume!.RunDir!, changes));
        // A rank of an mpirun job other than 0 trains its share and writes nothing: the output folder is rank 0's.
        using var ranks = DataParallel.Join(config, m => Console.Error.WriteLine(m));
        // It resumes from the checkpoint rank 0 chose (after finishing any write a killed job left), so all start alike.
        if (ranks is { IsMain: false }) return TrainRank(config, ranks.FromMain(null), ranks, cancellation);
        var outDir = config.Out!;
        bool existed = Directory.Exists(outDir);
        // Resuming in place writes into the run's own folder; any other --out is a fork of the run, into a folder
        // of its own (non-empty only with --overwrite), and the checkpoint it starts from is one of its inputs.
        bool inPlace = resume?.RunDir is { } runDir && RealPath.Same(outDir, runDir);
        var fork = resume is not null && !inPlace ? resume.CheckpointDir() : null;
        // A Hub id names no local folder, so it cannot overlap --out.
        using var outLock = OutputFolder.Claim(outDir, s.Overwrite || inPlace,
            [new(RunSettings.Model.Flag, LoraLab.Hub.ModelSource.HubRepo(config.Model) is null ? config.Model! : ""), new(RunSettings.Data.Flag, config.Data!), new(RunSettings.ValData.Flag, config.ValData ?? ""), new("--resume", fork ?? "")]);
        // Leftovers of killed writes are finished or removed first: what Recover puts back is part of the folder
        // as found, which a failed run must leave as it is.
        AtomicDirectory.Recover(outDir, RunFolder.IsReplacedWhole);
        AtomicDirectory.Recover(Path.Combine(outDir, RunFolder.CheckpointsFolder), RunFolder.IsCheckpoint);
        var undo = new RunFolderUndo(outLock, existed);
        TrainingRun? run = null;
        try
        {
            var checkpoint = resume?.CheckpointDir();
            int? fromStep = checkpoint is null ? null : TrainerState.Load(checkpoint).Step;
            // A run whose end is checkpointed but whose final weights were never written (a full disk) is finished by resuming it.
            bool finalWritten = resume?.RunDir is { } recordedIn && RunFolder.HasFinalWeights(recordedIn);
            SetAsideOtherTimelines(undo, outDir, inPlace ? fromStep : null);
            ranks?.FromMain(checkpoint is null ? null : Path.GetFullPath(checkpoint)); // the other ranks wait for this
            run = TrainingRun.Prepare(config, m => Console.WriteLine(m), ranks);
            if (fromStep >= run.Trainer.TotalSteps && finalWritten) // nothing to do: redoing the end would only rewrite its files
                throw new UserException($"{resume!.RunDir ?? checkpoint}: already complete (step {fromStep} of {run.Trainer.TotalSteps}); " +
                                        "raise --max-steps/--epochs with --allow-config-change to train further");
            if (fork is not null && resume!.RunDir is { } source && File.Exists(Path.Combine(source, RunFolder.Metrics)))
                File.Copy(Path.Combine(source, RunFolder.Metrics), Path.Combine(outDir, RunFolder.Metrics), overwrite: true); // cut back to the checkpoint by the Trainer
            var resumed = checkpoint is null ? null : RunRecord.Resume(fromStep!.Value, checkpoint, changes);
            File.WriteAllText(Path.Combine(run.OutDir, RunFolder.RunYaml), RunRecord.ForYaml(run.Config, run.Trainer, resumed).ToYaml());
            WriteValidation(run);
            run.Trainer.ResumeChanges = resumed?.Changes;
            return Train(run, checkpoint, cancellation, s.Report, ranks);
        }
        catch when (run?.Trainer.LastSaved is null)
        {
            undo.Restore();
            throw;
        }
        finally
        {
            if (run?.Trainer.LastSaved is not null) undo.Discard();
            run?.Dispose();
        }
    }

    /// `train --resume RUN` and `eval --run RUN` take the newest checkpoint and the final weights as this run's, so none
    /// may be left from another: a new run (or a fork) into a used folder starts without the old checkpoints,
    /// adapter/ and model/; a resume in place from step N drops the later checkpoints of the timeline it abandons
    /// (as metrics.jsonl is cut back to N) and the final weights, which the run writes again at its end.
    static void SetAsideOtherTimelines(RunFolderUndo undo, string outDir, int? resumingInPlaceFrom)
    {
        if (resumingInPlaceFrom is int step)
            foreach (var (later, dir) in Checkpoints.List(outDir))
            {
                if (later > step) undo.SetAside(dir);
            }
        else undo.SetAside(Path.Combine(outDir, RunFolder.CheckpointsFolder));
        undo.SetAside(Path.Combine(outDir, RunFolder.Adapter));
        undo.SetAside(Path.Combine(outDir, RunFolder.Model));
    }

    static int Train(TrainingRun run, string? checkpoint, CancellationToken cancellation, bool report, DataParallel? ranks)
    {
        PrintPlan(run, ranks);
        TrainResult result;
        using (var interrupt = new Interrupt(cancellation, ranks))
            result = TrainProgress.Run(run.Trainer, checkpoint, interrupt.Token);

        var final = Path.Combine(run.OutDir, run.FinalFolder);
        if (result.LastCheckpoint is not null && !result.Interrupted)
            AtomicDirectory.Write(final, run.WriteFinal, whatToDo: () =>
                $"training finished and its final checkpoint {result.LastCheckpoint} is complete; free some space and write {run.FinalFolder}/ with {RunFolder.ResumeCommand(run.OutDir)}");
        ranks?.Finish(); // the other ranks may go: what follows is rank 0's alone
        var stops = result.Interrupted ? null : MeasureStopRate(run, result.RunSeconds);
        PrintSummary(run, result, final, stops);
        if (result.Interrupted)
            Console.WriteLine($"interrupted at step {result.Steps}; to continue: {RunFolder.ResumeCommand(run.OutDir)}"); // unwrapped, to copy
        // The run is trained and saved by now: a report that cannot be drawn is a warning, not a failed run.
        if (report)
            try { Console.WriteLine($"report: {ReportCommand.Write([run.OutDir], Path.Combine(run.OutDir, RunFolder.Report), overwrite: true)}"); }
            catch (UserException e) { Console.Error.WriteLine($"warning: the run is saved, but its report was not written: {e.Message}"); }
        return result.Interrupted ? 130 : 0;
    }

    /// A rank other than 0 of a data-parallel job: the same run prepared and trained (its share of each micro-batch),
    /// nothing written, nothing printed but errors.
    static int TrainRank(RunConfig config, string? checkpoint, DataParallel ranks, CancellationToken cancellation)
    {
        using var run = TrainingRun.Prepare(config, null, ranks);
        TrainResult result;
        using (var interrupt = new Interrupt(cancellation, ranks))
            result = run.Trainer.Run(checkpoint, interrupt.Token);
        ranks.Finish();
        return result.Interrupted ? 130 : 0;
    }

    /// What interrupts training: Ctrl+C, and in an mpirun job SIGTERM too (mpirun's way of ending its ranks).
    sealed class Interrupt : IDisposable
    {
        readonly CancellationTokenSource _source;
        readonly ConsoleCancelEventHandler _onCancel;
        readonly System.Runtime.InteropServices.PosixSignalRegistration? _onTerm;

        public Interrupt(CancellationToken cancellation, DataParallel? ranks)
        {
            _source = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            _onCancel = (_, e) => { e.Cancel = true; _source.Cancel(); };
            Console.CancelKeyPress += _onCancel;
            if (ranks is not null)
                _onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
                {
                    ctx.Cancel = true;
                    Console.Error.WriteLine($"{ranks.Describe()}: stopping: mpirun sent SIGTERM (another rank ended, or the job was cancelled)");
                    _source.Cancel();
                });
        }

        public CancellationToken Token => _source.Token;

        public void Dispose()
        {
            Console.CancelKeyPress -= _onCancel;
            _onTerm?.Dispose();
            _source.Dispose();
        }
    }

    /// The held-out records the run validates on, as RUN_DIR/val.jsonl (scored again by `eval --run RUN_DIR`).
    static void WriteValidation(TrainingRun run)
    {
        var path = Path.Combine(run.OutDir, RunFolder.Validation);
        if (run.Preferences is { ValidationRecords.Count: > 0 } p) LoraLab.Data.Preferences.PreferenceJsonl.Write(path, p.ValidationRecords);
        else if (run.ValRecords.Count > 0) RecordJsonl.Write(path, run.ValRecords);
        else File.Delete(path);
    }

    static void PrintPlan(TrainingRun run, DataParallel? ranks)
    {
        var c = run.Config;
        AnsiConsole.MarkupLine($"[bold]loralab train[/] {RunChoices.Method.NameOf(c.Method)} on {Markup.Escape(c.Model!)}  ·  data {Markup.Escape(c.Data!)}");
        AnsiConsole.MarkupLine($"  train: {Markup.Escape(run.TrainSummary)}");
        if (run.ValSummary is not null) AnsiConsole.MarkupLine($"  val:   {Markup.Escape(run.ValSummary)}");
        AnsiConsole.MarkupLine($"  trainable params: {run.TrainableParameters:N0} of {run.TotalParameters:N0} ({100.0 * run.TrainableParameters / run.TotalParameters:F3}%)" +
                               (run.LoraSummary is null ? "" : $"  ·  {(c.UseDora ? "DoRA" : "LoRA")} r={c.R} alpha={c.Alpha} on {run.LoraSummary.Sites.Count} modules"));
        if (run.Lora is { } lora && lora.Init.ChangesBase())
        {
            var saved = PeftFormat.ConvertedToOriginalBase(lora);
            AnsiConsole.MarkupLine(Markup.Escape($"  init {RunChoices.Init.NameOf(c.Init)}: A and B start from each base weight W and the base keeps W − s·B·A (the output is unchanged); " +
                $"the adapter is saved converted to the original, untouched base, as PEFT converts it: r={saved.R}, alpha={saved.Alpha:G4}, same scaling"));
        }
        if (run.Lora is not null) // full fine-tuning freezes nothing
            AnsiConsole.MarkupLine($"  frozen projection weights: {run.FrozenWeightBytes / 1e6:F1} MB{(c.QuantizedBase ? $" ({RunChoices.Quantize.NameOf(c.BaseQuantization)})" : "")}");
        if (c.Method == TrainMethod.Galore) AnsiConsole.MarkupLine($"  {Markup.Escape(GalorePlan(c, run.Loaded.Config))}");
        foreach (var w in run.Loaded.Warnings) Console.Error.WriteLine($"warning: {w}");
        AnsiConsole.MarkupLine($"  precision: {Markup.Escape(RunSetup.Precision(c, run.Trainer.Device, ProbeShape.Of(run.Loaded.Config)).ToString())}");
        if (SgdLrWarning(c) is { } warning) AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(warning)}[/]");
        if (run.Restarts is { } restarts)
            AnsiConsole.MarkupLine(Markup.Escape($"  ReLoRA: every {restarts.Every} steps the adapters merge into their fp32 base weights and restart " +
                $"(99% of their optimizer moments pruned, learning rate re-warmed over {LrSchedule.RestartWarmupFor(restarts.Every)} steps); " +
                $"the output is the merged model in {RunFolder.Model}/, since the last adapter alone is relative to the changed base"));
        AnsiConsole.MarkupLine($"  steps: {run.Trainer.TotalSteps} ({run.Trainer.StepsPerEpoch} per epoch), batch {c.BatchSize} = {c.MicroBatchSize} x {c.BatchSize / c.MicroBatchSize} accumulation");
        if (ranks is not null)
            AnsiConsole.MarkupLine($"  data parallel: {ranks.Size} ranks over {ranks.Backend}, each micro-batch of {c.MicroBatchSize} rows split about {(double)c.MicroBatchSize / ranks.Size:0.#} per rank, " +
                                   (run.Loaded.Model.Device.type == TorchSharp.DeviceType.CUDA ? "one GPU per local rank (cuda:LOCAL_RANK)" : $"{Threads(TorchSharp.torch.get_num_threads())} each on the CPU") +
                                   "; rank 0 writes");
    }

    /// GaLore's settings and what its optimizer state takes beside AdamW's (fp32, from the shapes).
    static string GalorePlan(RunConfig c, LoraLab.Models.ModelConfig cfg)
    {
        var weights = LoraLab.Models.ModelShapes.Expected(cfg).ToList();
        int rank = c.GaloreRank!.Value;
        long galore = GaloreWeights.StateElements(rank, weights) * 4, adamw = 2 * LoraLab.Models.ModelShapes.TotalParameters(cfg) * 4;
        return $"GaLore: rank {rank} on {weights.Count(w => GaloreWeights.IsProjected(w.Name, w.Shape))} decoder projections, projections refreshed every " +
               $"{c.GaloreUpdateEvery} steps, update scale {c.GaloreScale}; optimizer state {galore / 1e6:F1} MB (AdamW's: {adamw / 1e6:F1} MB)";
    }

    static string Threads(int n) => n == 1 ? "1 thread" : $"{n} threads";

    /// SGD has no adaptive step size: at an Adam-sized rate (the default 3e-4) it barely moves the weights (10.70 → 10.64
    /// on the demo). A warning rather than a silent SGD default: the rate stays what run.yaml records.
    public static string? SgdLrWarning(RunConfig c) => c.Optimizer == OptimizerKind.Sgd && c.Lr < 1e-2
        ? $"--optimizer sgd at --lr {c.Lr} will barely learn: SGD needs a rate 10-100x Adam's (try --lr 1e-2 to 1e-1)" : null;

    /// How often held-out prompts' greedy generations stop, base vs tuned; logged to metrics.jsonl.
    static StopRateComparison? MeasureStopRate(TrainingRun run, double runSeconds)
    {
        int n = run.Config.StopRatePrompts;
        if (n <= 0 || run.ValRecords.Count == 0) return null;
        // After ReLoRA's restarts (merged weights) or PiSSA/OLoRA (the residual) the adapters switched off leave no base to compare.
        var stops = StopRate.Compare(run.Loaded.Model, run.Builder, run.ValRecords, n, withBase: run.Restarts is null && run.Lora?.Init.ChangesBase() != true);
        if (stops.Tuned.Prompts == 0) return null;
        using var log = new MetricsLog(Path.Combine(run.OutDir, RunFolder.Metrics), append: true, runSeconds);
        log.Write(stops.ToMetricsRecord());
        return stops;
    }

    static void PrintSummary(TrainingRun run, TrainResult r, string final, StopRateComparison? stops)
    {
        var t = new Table().Title(r.Interrupted ? "[yellow]interrupted[/]" : "[green]done[/]").AddColumns("", "");
        t.AddRow("steps", $"{r.Steps}");
        t.AddRow("tokens", $"{r.Tokens:N0}");
        t.AddRow("time", $"{r.Seconds:F1} s");
        t.AddRow("final train loss", r.FinalTrainLoss is double tl ? $"{tl:F4}" : "-");
        // A preference loss has no perplexity; its held-out rewards accuracy says more.
        var valRewards = r.Evaluations.LastOrDefault()?.Metrics is { } m && m.TryGetValue("rewards_accuracy", out var acc) ? acc : (double?)null;
        t.AddRow("final val loss", r.FinalValLoss is not double vl ? "-"
            : run.Config.IsPreference ? $"{vl:F4}" + (valRewards is double a ? $" (rewards accuracy {a:F3})" : "") : $"{vl:F4} (ppl {Math.Exp(vl):F2})");
        t.AddRow("trainable params", $"{run.TrainableParameters:N0}");
        t.AddRow("peak memory", $"{ProcessMemory.Peak() / 1e6:F0} MB");
        t.AddRow("checkpoint", Markup.Escape(r.LastCheckpoint ?? "-"));
        if (!r.Interrupted) t.AddRow(run.FinalFolder, Markup.Escape(final));
        t.AddRow("metrics", Markup.Escape(Path.Combine(run.OutDir, RunFolder.Metrics)));
        if (stops is not null)
            t.AddRow($"stops within {stops.Tuned.MaxNewTokens} tokens", (stops.Base is { } b ? $"base {b} → " : "") + $"tuned {stops.Tuned}");
        AnsiConsole.Write(t);
        if (stops is not null && stops.Tuned.Rate < 0.5 && (stops.Base is null || stops.Tuned.Rate <= stops.Base.Rate))
            AnsiConsole.MarkupLine("[yellow]the tuned model rarely stops by itself: check that examples end with a labelled EOS/end-of-turn token (loralab data preview).[/]");
        var epochs = r.Evaluations.Where(e => e.EpochEnd).ToList();
        if (epochs.Count > 1)
        {
            var et = new Table().Title("train vs validation loss per epoch").AddColumns("epoch", "train loss", "val loss");
            foreach (var e in epochs) et.AddRow($"{e.Epoch}", e.TrainLoss is double x ? $"{x:F4}" : "-", $"{e.ValLoss:F4}");
            AnsiConsole.Write(et);
            if (epochs[^1].ValLoss > epochs.Min(e => e.ValLoss) + 1e-4)
                AnsiConsole.MarkupLine("[yellow]validation loss rose after its minimum: later epochs overfit; consider fewer --epochs.[/]");
        }
    }
}
