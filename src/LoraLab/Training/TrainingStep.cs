using LoraLab.Data;
using LoraLab.Models;
using LoraLab.Runtime;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// One optimizer step over a window of micro-batches: forward, next-token loss sum, backward (normalised by the
/// window's target tokens), clipping, optimizer update. Shared by the Trainer and `loralab bench`, so the
/// benchmark times exactly the code that trains. Everything made here is freed before it returns; the only
/// device-to-host read is the loss scalar.
public sealed class TrainingStep : IDisposable
{
    readonly CausalLM _model;
    readonly IReadOnlyList<Parameter> _params;
    readonly double _maxGradNorm;

    readonly LossScaler? _scaler;
    readonly StepStreams? _streams;

    /// `streams` > 1 splits each micro-batch's rows over that many single-threaded slices (StepStreams). It needs a
    /// frozen embedding and output layer (their gradients are written outside autograd) and no dropout (one random
    /// generator drawn from by several threads would not repeat), and is refused otherwise.
    public TrainingStep(CausalLM model, IReadOnlyList<Parameter> trainable, double maxGradNorm, LossScaler? scaler = null, int streams = 1)
    {
        _model = model; _params = trainable; _maxGradNorm = maxGradNorm; _scaler = scaler;
        CheckCount(streams);
        if (streams == 1) return;
        Refuse(streams, StreamsRefusal(model, trainable));
        _streams = new StepStreams(streams);
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

    const string TrainedTablesRefusal = "the embedding or output layer is trained (full fine-tuning)";
    const string DropoutRefusal = "the model has dropout (set --lora-dropout 0)";

    /// The same refusal from a run's settings alone, so `train` and `bench` can say it before loading anything.
    public static void CheckStreams(int streams, string method, double loraDropout)
    {
        CheckCount(streams);
        Refuse(streams, streams == 1 ? null : method == "full" ? TrainedTablesRefusal : loraDropout > 0 ? DropoutRefusal : null);
    }

    static void CheckCount(int streams)
    {
        TorchRuntime.ThreadRange.Check("--streams", streams);
    }

    static void Refuse(int streams, string? why)
    {
        if (why is not null) throw new UserException($"--streams {streams}: {why}; use --streams 1");
    }

    public void Dispose() => _streams?.Dispose();

    /// Runs forward+backward for every micro-batch of the window (gradients accumulate). `beforeUpdate` sees the
    /// gradients before clipping (the Trainer's first-step gradient-flow check). Returns the mean token loss, the
    /// pre-clip gradient norm (NaN without clipping), and whether the step blew up (its update skipped; training must stop).
    public (double Loss, double GradNorm, bool BlewUp) Run(optim.Optimizer opt, IReadOnlyList<Batch> window, Action? beforeUpdate = null)
    {
        using var scope = NewDisposeScope();
        long targets = window.Sum(b => (long)b.TargetTokens);
        Tensor? lossSum = null;
        foreach (var b in window)
        {
            if (b.TargetTokens == 0) continue;
            if (_streams is not null && b.Rows > 1)
            {
                var part = RunSlices(b, targets);
                if (lossSum is null) lossSum = part.MoveToOuterDisposeScope();
                else lossSum.add_(part);
                continue;
            }
            using var inner = NewDisposeScope();
            var sum = Losses.NextTokenSum(_model, b.InputIds, b.Labels, b.PositionIds, b.DocumentIds);
            using var scaled = Scaled(sum, targets);
            // The forward pass leaves freed temporaries' pages mapped between the saved activations; handing them back
            // before backward (which allocates the gradients) keeps the step's peak near its live tensors, when the
            // heap has grown (a trim on every step costs more page faults than it saves memory: NativeHeap).
            NativeHeap.TrimIfGrown();
            scaled.backward();
            var detached = sum.detach();
            if (lossSum is null) lossSum = detached.MoveToOuterDisposeScope();
            else lossSum.add_(detached);
        }
        if (_scaler is not null)
            using (no_grad())
                foreach (var p in _params) p.grad?.mul_(1.0 / _scaler.Scale);
        beforeUpdate?.Invoke();
        double norm = _maxGradNorm > 0 || _scaler is not null ? GradientClipping.TotalNorm(_params) : double.NaN;
        double loss = targets > 0 && lossSum is not null ? lossSum.item<float>() / targets : 0;
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
        // Each step leaves ~0.25 MB of managed garbage (tensor wrappers, handle arrays). Left to the GC's own gen-0
        // budget (~25 MB here, sized from the L3 cache, and adaptive) it lands on fresh pages step after step: small
        // LoRA at 1 × 128 peaked at 521 MB after 10 steps and 553 MB after 500, in jumps. Collected every step, it
        // reuses the same few pages (504 → 509 MB over 200 steps), for 0.6–6 ms a step.
        GC.Collect(0);
        return (loss, norm, blewUp);
    }

    /// What backward starts from: the loss sum over the window's target tokens (times the loss scale when scaling).
    Tensor Scaled(Tensor sum, long targets) => _scaler is null ? sum.div(targets) : sum.mul(_scaler.Scale / targets);

    /// One micro-batch split by rows over the streams: each slice runs forward and backward on its own thread and
    /// returns its gradients (autograd.grad, not accumulated into `.grad`), which are then added into `.grad` in slice
    /// order, so the result does not depend on which thread finishes first. Returns the micro-batch's loss sum.
    Tensor RunSlices(Batch b, long targets)
    {
        int parts = (int)Math.Min(_streams!.Count, b.Rows);
        var losses = new Tensor?[parts];
        var grads = new IList<Tensor>?[parts];
        // All slices finish their forward pass before any backward starts, with one heap trim between (as below).
        using var barrier = new Barrier(parts, _ => NativeHeap.TrimIfGrown());
        var work = Enumerable.Range(0, parts).Select(i => (Action)(() =>
        {
            bool waited = false;
            try
            {
                using var scope = NewDisposeScope();
                long r0 = b.Rows * i / parts, r1 = b.Rows * (i + 1) / parts;
                Tensor Rows(Tensor t) => t.narrow(0, r0, r1 - r0);
                var sum = Losses.NextTokenSum(_model, Rows(b.InputIds), Rows(b.Labels), Rows(b.PositionIds),
                    b.DocumentIds is null ? null : Rows(b.DocumentIds));
                var scaled = Scaled(sum, targets);
                barrier.SignalAndWait();
                waited = true;
                var g = autograd.grad(new[] { scaled }, _params.Cast<Tensor>().ToList(), retain_graph: false, create_graph: false, allow_unused: true);
                grads[i] = g.Select(t => t?.DetachFromDisposeScope()!).ToList();
                losses[i] = sum.detach().DetachFromDisposeScope();
            }
            catch
            {
                if (!waited) barrier.RemoveParticipant();
                throw;
            }
        })).ToList();
        try
        {
            _streams.Run(work);
            using (no_grad())
                for (int j = 0; j < _params.Count; j++)
                    for (int i = 0; i < parts; i++)
                    {
                        var g = grads[i]![j];
                        if (g is null || g.IsInvalid) continue;
                        // .grad keeps its own reference: the wrapper is disposed below either way. autograd.grad
                        // hands gradients over in whatever layout the last operation made (LoRA's B comes back
                        // transposed); `.grad` must be laid out like its parameter, as backward() would make it,
                        // because the fused optimizer walks both buffers in step.
                        if (_params[j].grad is { } existing) existing.add_(g);
                        else if (g.is_contiguous()) _params[j].grad = g;
                        else { using var c = g.contiguous(); _params[j].grad = c; }
                    }
            var total = losses[0]!.clone();
            for (int i = 1; i < parts; i++) total.add_(losses[i]!);
            return total;
        }
        finally
        {
            foreach (var l in losses) l?.Dispose();
            foreach (var list in grads)
                if (list is not null) foreach (var g in list) g?.Dispose();
        }
    }
}
