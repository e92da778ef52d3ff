using LoraLab.Data;
using LoraLab.Models;
using Parameter = TorchSharp.Modules.Parameter;
using DataLoader = LoraLab.Data.DataLoader;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// Supervised next-token training (LoRA, QLoRA, full): the loss is the mean over the window's target tokens, the step is
/// TrainingStep (streams, loss scaling for fp16), validation the mean next-token loss and its perplexity.
public sealed class NextTokenObjective(CausalLM model, IReadOnlyList<Parameter> trainable, DataLoader train, DataLoader? val,
    double maxGradNorm, int streams) : ITrainingObjective
{
    TrainingStep? _step;

    public int BatchesPerEpoch => train.BatchesPerEpoch;

    public IEnumerable<IStepBatch> Epoch(int epoch, int skip) => train.Epoch(epoch, skip).Select(b => b.MoveTo(model.Device));

    public StepOutcome Step(optim.Optimizer opt, IReadOnlyList<IStepBatch> window, Action? beforeUpdate)
    {
        _step ??= TrainingStep.ForRun(model, trainable, maxGradNorm, streams);
        var (loss, norm, blewUp) = _step.Run(opt, window.Cast<Batch>().ToList(), beforeUpdate);
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
            double loss = Losses.MeanOver(model, val.Epoch(0));
            return new ValidationOutcome(loss, Math.Exp(loss));
        }
        finally { model.train(); }
    }

    public void EndRun()
    {
        _step?.Dispose();
        _step = null;
    }
}
