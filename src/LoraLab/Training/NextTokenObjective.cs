using LoraLab.Data;
using LoraLab.Distributed;
using LoraLab.Models;
using Parameter = TorchSharp.Modules.Parameter;
using DataLoader = LoraLab.Data.DataLoader;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// Supervised next-token training (LoRA, QLoRA, full): the loss is the mean over the window's target tokens, the step is
/// TrainingStep (streams, loss scaling for fp16), validation the mean next-token loss and its perplexity. With `ranks`
/// (data parallel) each rank trains and validates its share of every micro-batch's rows, and the sums are the job's.
public sealed class NextTokenObjective(CausalLM model, IReadOnlyList<Parameter> trainable, DataLoader train, DataLoader? val,
    double maxGradNorm, int streams, DataParallel? ranks = null) : ITrainingObjective
{
    TrainingStep? _step;

    public int BatchesPerEpoch => train.BatchesPerEpoch;

    public IEnumerable<IStepBatch> Epoch(int epoch, int skip) => ranks is null
        ? train.Epoch(epoch, skip).Select(b => b.MoveTo(model.Device))
        : train.EpochShare(epoch, skip, ranks.Rank, ranks.Size).Select(s => s.MoveTo(model.Device));

    public StepOutcome Step(optim.Optimizer opt, IReadOnlyList<IStepBatch> window, Action? beforeUpdate)
    {
        _step ??= TrainingStep.ForRun(model, trainable, maxGradNorm, streams, ranks);
        var (loss, norm, blewUp) = ranks is null
            ? _step.Run(opt, window.Cast<Batch>().ToList(), beforeUpdate)
            : _step.Run(opt, window.Cast<RankShare>().Select(s => s.Rows).OfType<Batch>().ToList(), beforeUpdate,
                windowTargets: window.Sum(s => (long)((RankShare)s).TargetTokens));
        return new StepOutcome(loss, norm, blewUp);
    }

    public bool HasValidation => val is not null;

    /// Mean next-token loss over every target token of the validation set.
    public ValidationOutcome Validate()
    {
        if (val is null) throw new InvalidOperationException("no validation data");
        model.eval();
        try
        {
            double loss;
            if (ranks is null) loss = Losses.MeanOver(model, val.Epoch(0));
            else
            {
                var (sum, targets) = Losses.SumOver(model, MyRows(val.EpochShare(0, 0, ranks.Rank, ranks.Size)));
                (sum, targets) = ranks.Sum(sum, targets, "summing the validation loss");
                loss = targets > 0 ? sum / targets : double.NaN;
            }
            return new ValidationOutcome(loss, Math.Exp(loss));
        }
        finally { model.train(); }
    }

    /// The rows of each share that has some (SumOver disposes each batch it is given).
    static IEnumerable<Batch> MyRows(IEnumerable<RankShare> shares)
    {
        foreach (var s in shares)
            if (s.Rows is { } rows) yield return rows;
    }

    public void EndRun()
    {
        _step?.Dispose();
        _step = null;
    }
}
