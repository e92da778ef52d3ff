using LoraLab.Data;
using LoraLab.Models;
using LoraLab.Runtime;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// One micro-batch split by rows over StepStreams: each slice runs forward and backward on its own thread and returns
/// its gradients (autograd.grad, not accumulated into `.grad`), which are then added into `.grad` in slice order, so
/// the result does not depend on which thread finishes first. All slices finish their forward pass before any
/// backward starts, with the step's before-backward housekeeping once in between.
public sealed class StreamSlices : IDisposable
{
    readonly CausalLM _model;
    readonly IReadOnlyList<Parameter> _params;
    readonly StepHousekeeping _housekeeping;
    readonly StepStreams _streams;

    public StreamSlices(int streams, CausalLM model, IReadOnlyList<Parameter> trainable, StepHousekeeping housekeeping)
    {
        _model = model; _params = trainable; _housekeeping = housekeeping;
        _streams = new StepStreams(streams);
    }

    public void Dispose() => _streams.Dispose();

    /// How many slices a micro-batch of `rows` rows is split into: one a stream, at most one a row.
    public int Parts(long rows) => (int)Math.Min(_streams.Count, rows);

    /// The rows [Start, Start + Length) of slice `i` of `parts`: consecutive, covering every row once, sizes within one.
    public static (long Start, long Length) RowRange(long rows, int i, int parts)
    {
        long r0 = rows * i / parts, r1 = rows * (i + 1) / parts;
        return (r0, r1 - r0);
    }

    /// Forward and backward of `b`'s slices, the gradients added into `.grad`; `scaled` turns a slice's loss sum into
    /// what its backward starts from. Returns the micro-batch's loss sum.
    public Tensor ForwardBackward(Batch b, Func<Tensor, Tensor> scaled)
    {
        int parts = Parts(b.Rows);
        var losses = new Tensor?[parts];
        var grads = new IList<Tensor>?[parts];
        using var barrier = new Barrier(parts, _ => _housekeeping.BeforeBackward());
        var work = Enumerable.Range(0, parts).Select(i => (Action)(() =>
        {
            bool waited = false;
            try
            {
                using var scope = NewDisposeScope();
                var (r0, n) = RowRange(b.Rows, i, parts);
                Tensor Slice(Tensor t) => t.narrow(0, r0, n);
                var sum = Losses.NextTokenSum(_model, Slice(b.InputIds), Slice(b.Labels), Slice(b.PositionIds),
                    b.DocumentIds is null ? null : Slice(b.DocumentIds));
                var start = scaled(sum);
                barrier.SignalAndWait();
                waited = true;
                var g = autograd.grad(new[] { start }, _params.Cast<Tensor>().ToList(), retain_graph: false, create_graph: false, allow_unused: true);
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
