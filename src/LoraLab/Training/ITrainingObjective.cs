using LoraLab.Data;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// One optimizer step's outcome: the window's mean loss, the pre-clip gradient norm (NaN without clipping), whether
/// the step blew up (its update skipped), and the objective's own metrics (null for plain next-token training).
public sealed record StepOutcome(double Loss, double GradNorm, bool BlewUp, IReadOnlyDictionary<string, double>? Metrics = null);

/// A validation pass: the mean loss, its perplexity when the loss is a next-token loss, and the objective's metrics.
public sealed record ValidationOutcome(double Loss, double? Perplexity, IReadOnlyDictionary<string, double>? Metrics = null);

/// What a Trainer optimizes: its data as epochs of micro-batches, one optimizer step over a window of them, and a
/// validation pass. The Trainer owns the loop around it (schedule, windows, evaluation, checkpoints, resume).
public interface ITrainingObjective
{
    /// Micro-batches per epoch of the training data.
    int BatchesPerEpoch { get; }
    /// The epoch's micro-batches from `skip` on (a resumed position), on the model's device; the caller disposes each.
    IEnumerable<IStepBatch> Epoch(int epoch, int skip);
    /// Forward, backward, clipping and the optimizer update over one window. `beforeUpdate` sees the gradients before
    /// clipping. Everything it makes is freed before it returns.
    StepOutcome Step(optim.Optimizer opt, IReadOnlyList<IStepBatch> window, Action? beforeUpdate);
    bool HasValidation { get; }
    /// The validation data's loss and metrics, without gradients; the model is left in training mode.
    ValidationOutcome Validate();
    /// Frees what the steps keep between them (stream threads, scratch buffers) when a run ends; a later step makes them again.
    void EndRun();
}
