using LoraLab.Configuration;
using LoraLab.Diagnostics.Profiling;
using LoraLab.Data;
using LoraLab.Models;
using LoraLab.Runtime;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// One optimizer step over a window of micro-batches: forward, next-token loss sum, backward (normalised by the
/// window's target tokens; over StreamSlices with --streams), clipping, optimizer update, and the CPU housekeeping
/// around them (StepHousekeeping: before each backward, after the update). Shared by the Trainer and `loralab bench`, so the
/// benchmark times exactly the code that trains. Everything made here is freed before it returns; the only
/// device-to-host read is the loss scalar.
public sealed class TrainingStep : IDisposable
{
    readonly CausalLM _model;
    readonly IReadOnlyList<Parameter> _params;
    readonly double _maxGradNorm;

    readonly LossScaler? _scaler;
    readonly StreamSlices? _slices;
    readonly StepHousekeeping _housekeeping;
    readonly Distributed.DataParallel? _ranks;

    /// `streams` > 1 splits each micro-batch's rows over that many single-threaded slices (StreamSlices). It needs a
    /// frozen embedding and output layer (their gradients are written outside autograd) and no dropout (one random
    /// generator drawn from by several threads would not repeat), and is refused otherwise. `housekeeping` is
    /// StepHousekeeping.Default unless a test passes its own. With `ranks` each window holds this rank's rows, and the
    /// gradients and loss are summed over the ranks before the update.
    public TrainingStep(CausalLM model, IReadOnlyList<Parameter> trainable, double maxGradNorm, LossScaler? scaler = null, int streams = 1,
        StepHousekeeping? housekeeping = null, Distributed.DataParallel? ranks = null)
    {
        _model = model; _params = trainable; _maxGradNorm = maxGradNorm; _scaler = scaler; _ranks = ranks;
        _housekeeping = housekeeping ?? StepHousekeeping.Default;
        CheckCount(streams);
        if (streams == 1) return;
        Refuse(streams, StreamsRefusal(model, trainable));
        _slices = new StreamSlices(streams, model, trainable, _housekeeping);
    }

    /// Why this model and set of trainable tensors cannot be split over streams; null when they can.
    static string? StreamsRefusal(CausalLM model, IReadOnlyList<Parameter> trainable)
    {
        var tables = new List<Tensor> { model.model.embed_tokens.weight };
        if (model.DenseHeadWeight is { } head) tables.Add(head);
        if (trainable.Any(p => tables.Any(t => t.Handle == p.Handle))) return TrainedTablesRefusal;
        if (model.modules().Any(m => m is TorchSharp.Modules.Dropout d && d.training)) return DropoutRefusal;
        return null;
    }

    const string TrainedTablesRefusal = "the embedding or output layer is trained (full fine-tuning, GaLore)";
    const string DropoutRefusal = "the model has dropout (set --lora-dropout 0)";

    /// The step a training run takes on `model`: with dynamic loss scaling when the model computes in fp16.
    public static TrainingStep ForRun(CausalLM model, IReadOnlyList<Parameter> trainable, double maxGradNorm, int streams = 1,
        Distributed.DataParallel? ranks = null) =>
        new(model, trainable, maxGradNorm, model.Dtype == ScalarType.Float16 ? new LossScaler() : null, streams, ranks: ranks);

    /// The same refusal from a run's settings alone, so `train` and `bench` can say it before loading anything.
    public static void CheckStreams(int streams, string method, double loraDropout)
    {
        CheckCount(streams);
        Refuse(streams, StreamsRefusal(streams, method, loraDropout));
    }

    /// Why `streams` slices cannot run a run of `method` with this LoRA dropout; null when they can.
    public static string? StreamsRefusal(int streams, string method, double loraDropout) =>
        streams == 1 ? null
        : RunChoices.Method.TryParse(method, out var m) && m.TrainsEveryWeight() ? TrainedTablesRefusal
        : loraDropout > 0 ? DropoutRefusal : null;

    static void CheckCount(int streams)
    {
        TorchRuntime.ThreadRange.Check("--streams", streams);
    }

    static void Refuse(int streams, string? why)
    {
        if (why is not null) throw new UserException($"--streams {streams}: {why}; use --streams 1");
    }

    public void Dispose() => _slices?.Dispose();

    /// Runs forward+backward for every micro-batch of the window (gradients accumulate). `beforeUpdate` sees the
    /// gradients before clipping (the Trainer's first-step gradient-flow check). Returns the mean token loss, the
    /// pre-clip gradient norm (NaN without clipping), and whether the step blew up (its update skipped; training must stop).
    /// `windowTargets`: the whole window's target tokens when `window` is only this rank's rows (data parallel).
    public (double Loss, double GradNorm, bool BlewUp) Run(optim.Optimizer opt, IReadOnlyList<Batch> window, Action? beforeUpdate = null,
        long? windowTargets = null)
    {
        using var scope = NewDisposeScope();
        long targets = windowTargets ?? window.Sum(b => (long)b.TargetTokens);
        Tensor? lossSum = null;
        foreach (var b in window)
        {
            if (b.TargetTokens == 0) continue;
            if (_slices is not null && b.Rows > 1)
            {
                var part = _slices.ForwardBackward(b, slice => Scaled(slice, targets));
                if (lossSum is null) lossSum = part.MoveToOuterDisposeScope();
                else lossSum.add_(part);
                continue;
            }
            using var inner = NewDisposeScope();
            var sum = Losses.NextTokenSum(_model, b.InputIds, b.Labels, b.PositionIds, b.DocumentIds);
            Backward(sum, targets);
            var detached = sum.detach();
            if (lossSum is null) lossSum = detached.MoveToOuterDisposeScope();
            else lossSum.add_(detached);
        }
        // Data parallel: one exchange sums every rank's gradients and loss, so all take the same update.
        double total = _ranks is not null ? _ranks.SumGradients(_params, lossSum) : lossSum is null ? 0 : lossSum.item<float>();
        double loss = targets > 0 ? total / targets : 0;
        var (norm, blewUp) = Update(opt, loss, beforeUpdate);
        return (loss, norm, blewUp);
    }

    /// The backward pass of one micro-batch's part of a window's loss: `sum` / `divisor` (times the loss scale when
    /// scaling), after the housekeeping that trims the heap between forward and backward. Gradients accumulate.
    public void Backward(Tensor sum, long divisor)
    {
        using var scaled = Scaled(sum, divisor);
        using (OpProfile.Time(ProfiledOp.Housekeeping)) _housekeeping.BeforeBackward();
        using (OpProfile.Backward()) scaled.backward();
    }

    /// After a window's backward passes, given its mean loss: unscale, `beforeUpdate`, clip, update (skipped when the
    /// step blew up), drop the gradients. Returns the pre-clip gradient norm (NaN without clipping) and whether it blew up.
    public (double GradNorm, bool BlewUp) Update(optim.Optimizer opt, double loss, Action? beforeUpdate)
    {
        var optimizer = OpProfile.Time(ProfiledOp.Optimizer);
        if (_scaler is not null)
            using (no_grad())
                foreach (var p in _params) p.grad?.mul_(1.0 / _scaler.Scale);
        beforeUpdate?.Invoke();
        double norm = _maxGradNorm > 0 || _scaler is not null ? GradientClipping.TotalNorm(_params) : double.NaN;
        // A non-finite loss (or, without loss scaling, non-finite clipped gradients) ends training: the update is skipped
        // so the weights stay as they were before the step, for the Trainer to tell a corrupt weight from a bad learning rate.
        bool blewUp = !double.IsFinite(loss) || (_scaler is null && _maxGradNorm > 0 && !double.IsFinite(norm));
        // With loss scaling an overflowed step is skipped (and the scale lowered) instead of poisoning the weights.
        if (!blewUp && (_scaler is null || _scaler.Update(double.IsFinite(norm))))
        {
            // Clipping's multiplication happens inside the optimizer's update (one pass over the gradients fewer).
            if (_maxGradNorm > 0) GradientClipping.ScaleForStep(opt, _params, GradientClipping.Coefficient(norm, _maxGradNorm));
            opt.step();
        }
        // Drop the gradients rather than zeroing them (PyTorch's set_to_none): between steps, and through the next
        // forward pass where activations peak, full fine-tuning then holds no gradient buffer (one weight-sized copy).
        foreach (var p in _params) p.grad = null;
        optimizer.Dispose();
        using (OpProfile.Time(ProfiledOp.Housekeeping)) _housekeeping.AfterStep();
        return (norm, blewUp);
    }

    /// What backward starts from: the loss sum over the window's target tokens (times the loss scale when scaling).
    Tensor Scaled(Tensor sum, long targets) => _scaler is null ? sum.div(targets) : sum.mul(_scaler.Scale / targets);
}
