using LoraLab.Configuration;
using LoraLab.Data;
using LoraLab.Models;
using LoraLab.Runtime;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using DataLoader = LoraLab.Data.DataLoader;
using static TorchSharp.torch;

namespace LoraLab.Training;

public sealed record StepReport(int Step, int TotalSteps, int Epoch, double Loss, double Lr, double GradNorm,
    long Tokens, double TokensPerSecond, double Seconds, long RssBytes)
{
    /// The objective's own metrics for the step (preference rewards, ...); null for next-token training.
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }
}

/// `ValPerplexity` is NaN when the loss is not a next-token loss (a preference objective); `Metrics` are the
/// objective's validation metrics (null for next-token training).
public sealed record EvalReport(int Step, int Epoch, double ValLoss, double ValPerplexity, bool EpochEnd, double? TrainLoss)
{
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }
}

public sealed record TrainResult(int Steps, long Tokens, double Seconds, double? FinalTrainLoss, double? FinalValLoss,
    bool Interrupted, string? LastCheckpoint, IReadOnlyList<EvalReport> Evaluations)
{
    /// The run's training seconds across resumes (metrics.jsonl's elapsed_s), for rows logged after training.
    public double RunSeconds { get; init; }
}

/// How a run saves and restores its trainable weights (an adapter in PEFT format, or a full model).
public interface IWeightStore
{
    void Save(string dir);
    void Load(string dir);
}

/// The training loop: micro-batches accumulated to the global batch (the objective normalises the loss over the whole
/// window, so k micro-batches of b equal one batch of k·b), schedule, evaluation, checkpoints, resume. What is
/// optimized, and how one step runs, is the objective's (next-token loss by default, or a preference loss).
public sealed class Trainer
{
    readonly CausalLM _model;
    readonly IReadOnlyList<(string Name, Parameter Param)> _trainable;
    readonly RunConfig _o;
    readonly ITrainingObjective _objective;
    readonly string _outDir;
    readonly IWeightStore _weights;
    readonly Distributed.DataParallel? _ranks;

    public event Action<StepReport>? Step;
    public event Action<EvalReport>? Evaluated;
    public event Action<string>? Message;

    /// The last checkpoint this Trainer saved (null until one is complete).
    public string? LastSaved { get; private set; }
    /// Settings a resume changed (key → "old → new"), logged with the resume in metrics.jsonl.
    public IReadOnlyDictionary<string, string>? ResumeChanges { get; set; }
    /// ReLoRA's restarts after every K-th step (null: none); the schedule re-warms after each.
    public Relora.ReloraRestarts? Restarts { get; init; }

    /// `options`: the loop's settings (optimizer, schedule, batch, steps, intervals) are read from it.
    /// `ranks`: the data-parallel job this process is a rank of (null: it trains alone); rank 0 alone writes.
    /// The device the model trains on, and its shapes.
    public Device Device => _model.Device;
    public ModelConfig ModelConfig => _model.Config;

    public Trainer(CausalLM model, IReadOnlyList<(string, Parameter)> trainable, RunConfig options,
        DataLoader train, DataLoader? val, string outDir, IWeightStore weights, Distributed.DataParallel? ranks = null)
        : this(model, trainable, options, new NextTokenObjective(model, trainable.Select(t => t.Item2).ToList(), train, val, options.MaxGradNorm, options.Streams, ranks),
            outDir, weights, ranks) { }

    public Trainer(CausalLM model, IReadOnlyList<(string, Parameter)> trainable, RunConfig options, ITrainingObjective objective,
        string outDir, IWeightStore weights, Distributed.DataParallel? ranks = null)
    {
        options.Validate(inputs: false);
        _model = model; _trainable = trainable; _o = options; _objective = objective; _outDir = outDir; _weights = weights; _ranks = ranks;
    }

    /// Whether this process writes the run's files: always, but for the ranks other than 0 of a data-parallel job.
    bool Writes => _ranks is null || _ranks.IsMain;

    public int StepsPerEpoch => (_objective.BatchesPerEpoch + _o.AccumulationSteps - 1) / _o.AccumulationSteps;
    public int TotalSteps => _o.MaxSteps ?? _o.Epochs * StepsPerEpoch;

    /// Setup (optimizer, schedule, resume), then one optimizer step per window of micro-batches, each followed by its
    /// evaluation and checkpoint when due; the end (or an interrupt) saves a checkpoint.
    public TrainResult Run(string? resumeDir, CancellationToken cancel)
    {
        using var keptBuffers = KeptBuffers.Scope(); // the step's reused scratch buffers go when training ends
        using var opt = RunSetup.Optimizer(_o, _trainable);
        var schedule = LrSchedule.Create(_o.Schedule, _o.Lr, TotalSteps, _o.WarmupSteps, _o.WarmupRatio, _o.MinLr, Restarts?.Every);
        var at = resumeDir is null ? new TrainerState() : Restore(resumeDir, opt);
        if (_ranks is not null)
        {
            // Every rank from rank 0's weights, and all stop after the same step when any is interrupted.
            _ranks.Align(_trainable.Select(t => t.Param).ToList());
            // Dropout masks differ between ranks (one seed would repeat rank 0's masks on every rank's rows); rank 0
            // keeps the run's generator, which its checkpoints save.
            if (_ranks.Rank > 0) random.manual_seed(_o.Seed + 1_000_003L * _ranks.Rank + at.Step);
            _ranks.StepsTaken = at.Step;
            _ranks.LastCheckpoint = resumeDir;
            cancel = _ranks.AgreedStop(cancel);
        }
        using var metrics = Writes ? new MetricsLog(Path.Combine(_outDir, RunFolder.Metrics), append: resumeDir is not null, at.ElapsedSeconds)
            : MetricsLog.Discarding(at.ElapsedSeconds);
        if (resumeDir is not null)
            metrics.Write(new { type = "resume", step = at.Step, from = Path.GetFullPath(resumeDir), changes = ResumeChanges });
        var p = new TrainingPosition(at, resumeDir);
        _model.train();
        try
        {
            foreach (var window in Windows(p, cancel))
            {
                try { TakeStep(p, opt, schedule, window, metrics); }
                finally { Release(window); }
                Restart(p.Step, opt, metrics);
                AfterStep(p, opt, metrics);
            }
            if (p.Step < TotalSteps) return Finish(p, opt, metrics, interrupted: true); // the windows stopped at an interrupt
            if (_objective.HasValidation && (p.Evaluations.Count == 0 || p.Evaluations[^1].Step != p.Step)) Evaluate(p, false, null, metrics);
            return Finish(p, opt, metrics, interrupted: false);
        }
        finally
        {
            // The step's stream threads (and their kept buffers) end with the run.
            _objective.EndRun();
        }
    }

    /// A checkpoint's weights, optimizer state, RNG and position; metrics.jsonl loses the steps about to be redone.
    TrainerState Restore(string dir, optim.Optimizer opt)
    {
        var state = TrainerState.Load(dir);
        _weights.Load(dir);
        OptimizerFactory.Load(opt, Path.Combine(dir, "optimizer.bin"));
        if (state.RngState.Length > 0)
            using (var rng = tensor(Convert.FromBase64String(state.RngState), dtype: ScalarType.Byte)) random.set_rng_state(rng);
        Message?.Invoke($"resumed from {dir} at step {state.Step} (epoch {state.Epoch + 1}, micro-batch {state.BatchInEpoch})");
        if (Writes) MetricsLog.CutBack(Path.Combine(_outDir, RunFolder.Metrics), state.Step);
        return state;
    }

    /// The micro-batches of each optimizer step (up to k, never crossing an epoch boundary), from the position on, until
    /// the last step or an interrupt. Batches are built on the CPU and moved to the model's device; the caller releases
    /// each window after its step (and anything left is released here if the loop ends early).
    IEnumerable<List<IStepBatch>> Windows(TrainingPosition p, CancellationToken cancel)
    {
        while (p.Step < TotalSteps)
        {
            using var batches = _objective.Epoch(p.Epoch, p.BatchInEpoch).GetEnumerator();
            do
            {
                if (cancel.IsCancellationRequested) yield break;
                var window = new List<IStepBatch>();
                try
                {
                    while (window.Count < _o.AccumulationSteps && batches.MoveNext()) window.Add(batches.Current);
                    p.EpochDone = p.BatchInEpoch + window.Count >= _objective.BatchesPerEpoch;
                    yield return window;
                }
                finally { Release(window); }
            } while (p.Step < TotalSteps && p.BatchInEpoch > 0); // 0: the step ended the epoch, which starts again
        }
    }

    static void Release(List<IStepBatch> window)
    {
        foreach (var b in window) b.Dispose();
        window.Clear();
    }

    void TakeStep(TrainingPosition p, optim.Optimizer opt, LrSchedule schedule, List<IStepBatch> window, MetricsLog metrics)
    {
        var (outcome, windowTokens, windowTargets) = TrainStep(opt, schedule, p.Step, window);
        var (loss, gradNorm, blewUp) = (outcome.Loss, outcome.GradNorm, outcome.BlewUp);
        p.Step++;
        p.BatchInEpoch += window.Count;
        p.Tokens += windowTokens;
        // TrainingStep skipped the update of a step that blew up, so the weights are as they were before it.
        if (blewUp) throw Diverged(p.Step, loss, gradNorm, p.Step == p.FirstStep + 1, p.LastCheckpoint);
        p.LastTrainLoss = loss;
        p.EpochLossSum += loss * windowTargets; p.EpochTargets += windowTargets;
        double secs = p.Clock.Elapsed.TotalSeconds;
        var report = new StepReport(p.Step, TotalSteps, p.Epoch + 1, loss, schedule.At(p.Step), gradNorm, p.Tokens,
            (p.Tokens - p.TokensAtStart) / Math.Max(secs, 1e-9), secs, ProcessMemory.Rss()) { Metrics = outcome.Metrics };
        if (p.Step % Math.Max(1, _o.LogEvery) == 0 || p.Step == TotalSteps)
            metrics.Write(new { type = "train", step = p.Step, epoch = p.Epoch + 1, loss, lr = report.Lr, grad_norm = gradNorm, tokens = p.Tokens,
                tokens_per_s = report.TokensPerSecond, rss_mb = report.RssBytes / 1e6 }, outcome.Metrics);
        Step?.Invoke(report);
    }

    /// ReLoRA's restart when one is due after `step`, before that step's evaluation and checkpoint (which then hold
    /// the merged base and the fresh adapter).
    void Restart(int step, optim.Optimizer opt, MetricsLog metrics)
    {
        if (Restarts is null || !Restarts.DueAfter(step)) return;
        Restarts.Restart(step, opt);
        metrics.Write(new { type = "relora_restart", step, restart = Restarts.CountAt(step) });
        Message?.Invoke($"ReLoRA restart {Restarts.CountAt(step)} after step {step}: adapters merged into the base and re-initialised, 99% of their optimizer moments pruned");
    }

    /// What is due after a step: an evaluation, the epoch's end (evaluated, or its mean train loss logged), a checkpoint.
    void AfterStep(TrainingPosition p, optim.Optimizer opt, MetricsLog metrics)
    {
        if (_objective.HasValidation && _o.EvalEvery > 0 && p.Step % _o.EvalEvery == 0 && !p.EpochDone)
            Evaluate(p, false, null, metrics);
        if (p.EpochDone)
        {
            double? epochTrain = p.EpochTargets > 0 ? p.EpochLossSum / p.EpochTargets : null;
            if (_objective.HasValidation) Evaluate(p, true, epochTrain, metrics);
            else metrics.Write(new { type = "epoch", step = p.Step, epoch = p.Epoch + 1, train_loss = epochTrain });
            p.NextEpoch();
        }
        if (_o.SaveEvery > 0 && p.Step % _o.SaveEvery == 0 && p.Step < TotalSteps)
            p.LastCheckpoint = SaveCheckpoint(opt, p.State(metrics.ElapsedSeconds));
    }

    TrainResult Finish(TrainingPosition p, optim.Optimizer opt, MetricsLog metrics, bool interrupted)
    {
        p.LastCheckpoint = SaveCheckpoint(opt, p.State(metrics.ElapsedSeconds));
        return new TrainResult(p.Step, p.Tokens, p.Clock.Elapsed.TotalSeconds, p.LastTrainLoss, p.LastValLoss, interrupted, p.LastCheckpoint, p.Evaluations)
            { RunSeconds = metrics.ElapsedSeconds };
    }

    (StepOutcome Outcome, long Tokens, long Weight) TrainStep(optim.Optimizer opt, LrSchedule schedule, int step, List<IStepBatch> window)
    {
        long weight = window.Sum(b => (long)b.Weight);
        long tokens = window.Sum(b => (long)b.Tokens);
        OptimizerFactory.SetLearningRate(opt, schedule.At(step + 1));
        return (_objective.Step(opt, window, step == 0 ? CheckGradientsFlow : null), tokens, weight);
    }

    /// After the first backward every trainable tensor must have a non-zero gradient; otherwise something
    /// (a detached input, a frozen path, a mask that hides every target) makes training a silent no-op.
    void CheckGradientsFlow()
    {
        var dead = new List<string>();
        foreach (var (name, p) in _trainable)
        {
            var g = p.grad;
            if (g is null) { dead.Add(name); continue; }
            using var any = g.abs().sum().to(ScalarType.Float32); // a bf16 weight's gradient is bf16
            // A fresh LoRA A has a gradient only through a non-zero B, so judge A and B of one module together.
            if (any.item<float>() == 0 && !(name.Contains("lora_A") && _trainable.Any(t => t.Name == name.Replace("lora_A", "lora_B") && t.Param.grad is not null)))
                dead.Add(name);
        }
        if (dead.Count > 0)
            throw new UserException($"after the first step these trainable tensors have no gradient: {string.Join(", ", dead.Take(8))}{(dead.Count > 8 ? $" and {dead.Count - 8} more" : "")}");
    }

    void Evaluate(TrainingPosition p, bool epochEnd, double? trainLoss, MetricsLog metrics)
    {
        var v = _objective.Validate();
        p.LastValLoss = v.Loss;
        var r = new EvalReport(p.Step, p.Epoch + 1, v.Loss, v.Perplexity ?? double.NaN, epochEnd, trainLoss) { Metrics = v.Metrics };
        // Validation metrics carry val_ in front, as val_loss does (TRL's eval_ prefix); a preference loss has no perplexity.
        var extra = v.Metrics?.ToDictionary(m => "val_" + m.Key, m => m.Value) ?? [];
        if (v.Perplexity is double ppl) extra["val_perplexity"] = ppl;
        metrics.Write(new { type = epochEnd ? "epoch" : "eval", step = p.Step, epoch = p.Epoch + 1, val_loss = v.Loss, train_loss = trainLoss }, extra);
        Evaluated?.Invoke(r);
        p.Evaluations.Add(r);
    }

    /// The validation data's mean loss (next-token loss, or the preference objective's loss).
    public double ValidationLoss() => _objective.Validate().Loss;

    /// Writes the checkpoint of step `now` (rank 0 of a data-parallel job alone; every rank records its path).
    string SaveCheckpoint(optim.Optimizer opt, TrainerState now)
    {
        var dir = Checkpoints.PathFor(_outDir, now.Step);
        using var rng = random.get_rng_state();
        var state = now with { RngState = Convert.ToBase64String(rng.data<byte>().ToArray()) };
        if (Writes)
        {
            AtomicDirectory.Write(dir, tmp =>
            {
                _weights.Save(tmp);
                OptimizerFactory.Save(opt, Path.Combine(tmp, "optimizer.bin"));
                state.Save(tmp);
            }, whatToDo: () => Checkpoints.ResumeHint(_outDir));
            Message?.Invoke($"checkpoint saved: {dir}");
        }
        LastSaved = dir;
        if (_ranks is not null) _ranks.LastCheckpoint = dir;
        if (Writes) Checkpoints.Prune(_outDir, _o.SaveTotalLimit);
        return dir;
    }

    /// Who is to blame for a non-finite step: weights that were already NaN/Inf before it (named; on the first step
    /// of this process a corrupt base, adapter or checkpoint), or a loss/gradient that overflowed from finite weights.
    TrainingDivergedException Diverged(int step, double loss, double gradNorm, bool firstStep, string? lastGood)
    {
        string? bad = null;
        using (no_grad())
            foreach (var (name, p) in _model.named_parameters())
            {
                using var finite = p.isfinite().all();
                if (!finite.item<bool>()) { bad = name; break; }
            }
        string what = !double.IsFinite(loss) ? $"the loss became {loss}" : $"the gradients became non-finite (norm {gradNorm})";
        string why = bad is not null && firstStep
            ? $"training stopped at step {step}: {what} because weight '{bad}' was already non-finite (NaN/Inf) before the step; the base model, adapter or checkpoint it was loaded from is corrupt (not a learning-rate problem)"
            : $"training diverged at step {step}: {what} from finite weights{(bad is null ? "" : $" (an earlier update made '{bad}' non-finite)")}, so the learning rate is to blame: lower --lr (now {_o.Lr:G3}), raise --warmup-steps or clip harder (--max-grad-norm)";
        return new TrainingDivergedException(why + (lastGood is null ? "; no checkpoint was saved before it" : $"; the last good checkpoint is {lastGood}"));
    }
}

/// The loss or the gradients became NaN or infinite: the run stops, and the last good checkpoint (if any) is kept.
public sealed class TrainingDivergedException : UserException
{
    public TrainingDivergedException(string message) : base(message) { }
}
