using LoraLab.Data;
using LoraLab.Data.Preferences;
using LoraLab.Models;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace LoraLab.Training.Preferences;

/// Preference tuning (DPO and its losses, ORPO) as a Trainer objective. The policy is the model with its adapter; the
/// reference is the same model with the adapter switched off (no second copy of the base), or log-probs computed once
/// up front. A window's loss is the mean over all its pairs (ORPO's NLL: over all its chosen tokens), so k micro-batches
/// of b pairs equal one batch of k·b. The update itself (clipping, loss scaling, optimizer) is TrainingStep's.
public sealed class PreferenceObjective(CausalLM model, IReadOnlyList<Parameter> trainable, PreferenceSettings settings,
    PreferenceLoader train, PreferenceLoader? val, double maxGradNorm, ReferenceLogps? trainReference = null, ReferenceLogps? valReference = null)
    : ITrainingObjective
{
    TrainingStep? _step;

    public int BatchesPerEpoch => train.BatchesPerEpoch;

    public IEnumerable<IStepBatch> Epoch(int epoch, int skip) => train.Epoch(epoch, skip).Select(b => b.MoveTo(model.Device));

    public StepOutcome Step(optim.Optimizer opt, IReadOnlyList<IStepBatch> window, Action? beforeUpdate)
    {
        _step ??= TrainingStep.ForRun(model, trainable, maxGradNorm);
        using var scope = NewDisposeScope();
        var batches = window.Cast<PreferenceBatch>().ToList();
        long pairs = batches.Sum(b => (long)b.Pairs);
        // ORPO's NLL is a mean over the window's chosen tokens: counted before the first backward.
        long chosenTokens = settings.Method == Configuration.TrainMethod.Orpo ? batches.Sum(ChosenTokens) : 0;
        using var totals = new PreferenceTotals(settings, model.Device);
        foreach (var b in batches)
        {
            using var inner = NewDisposeScope();
            var (terms, pc, pr, cc) = PreferencePass.Run(model, settings, b, trainReference);
            // One backward per micro-batch: its pairs' share of the window mean (plus its share of the NLL mean).
            var part = terms.PairLoss.sum().div(pairs);
            if (terms.ChosenNllSum is not null) part = part.add(terms.ChosenNllSum.div(Math.Max(1, chosenTokens)));
            _step.Backward(part, 1);
            totals.Add(terms, pc, pr, cc);
        }
        var (loss, metrics) = totals.Result();
        var (norm, blewUp) = _step.Update(opt, loss, beforeUpdate);
        return new StepOutcome(loss, norm, blewUp, metrics);
    }

    static long ChosenTokens(PreferenceBatch b)
    {
        using var chosen = b.Labels.narrow(0, 0, b.Pairs);
        return Losses.TargetCount(chosen);
    }

    public bool HasValidation => val is not null;

    public ValidationOutcome Validate()
    {
        if (val is null) throw new InvalidOperationException("no validation pairs");
        var (loss, metrics) = PreferencePass.Evaluate(model, settings, val.Epoch(0), valReference);
        return new ValidationOutcome(loss, null, metrics);
    }

    public void EndRun()
    {
        _step?.Dispose();
        _step = null;
    }
}
