using LoraLab.Adapters;
using LoraLab.Models;
using static TorchSharp.torch;

namespace LoraLab.Serving;

/// Many LoRA adapters on one projection, each row of a batch through its own (S-LoRA / Punica's gathered form):
/// y = W x + s_a · B_a A_a x for a row routed to adapter a, y = W x for a row routed to none. Inference only.
/// A pass routed through one adapter computes exactly what <see cref="LoraAdapter.AddTo"/> does; a mixed batch
/// gathers each row's A and B from stacks indexed by adapter id (id 0 and absent adapters are zeros) and runs two
/// batched matmuls, so the cost per projection does not grow with the number of adapters in the batch.
public sealed class MultiLoraLayer : IProjectionAdapter
{
    readonly AdapterRouting _routing;
    readonly long _inFeatures, _outFeatures;
    readonly Device _device;
    readonly Dictionary<int, (Tensor A, Tensor Bt, double Scaling)> _adapters = new();
    /// (ids, rank, in) and (ids, rank, out) with the scaling folded into Bt; ranks padded with zeros to the largest.
    Tensor? _stackA, _stackBt;

    /// `device`: the projection's (adapters are read on the CPU; a CUDA model needs its copies beside its weights).
    public MultiLoraLayer(AdapterRouting routing, long inFeatures, long outFeatures, Device device)
    {
        _routing = routing;
        _device = device;
        _inFeatures = inFeatures;
        _outFeatures = outFeatures;
    }

    public AdapterState State => AdapterState.Active;
    public void Enable() { }
    public void Disable() => throw new NotSupportedException("a served projection routes each row; send the row to no adapter instead");

    /// Adds adapter `id` (> 0; A (r, in) and B (out, r) are copied, the caller keeps its tensors). Call
    /// <see cref="Restack"/> before the next mixed batch.
    public void Add(int id, Tensor a, Tensor b, double scaling)
    {
        if (id <= 0) throw new ArgumentOutOfRangeException(nameof(id), "id 0 means no adapter");
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var copyA = a.detach().to(_device).clone().MoveToOuterDisposeScope();
        var copyBt = b.detach().to(_device).t().contiguous().MoveToOuterDisposeScope();
        _adapters.Add(id, (copyA, copyBt, scaling));
    }

    public void Remove(int id)
    {
        if (!_adapters.Remove(id, out var w)) return;
        w.A.Dispose();
        w.Bt.Dispose();
    }

    /// Rebuilds the stacks for ids 0..ids−1 (every id the bank may route to, including adapters that skip this projection).
    public void Restack(long ids)
    {
        _stackA?.Dispose(); _stackBt?.Dispose();
        _stackA = _stackBt = null;
        if (_adapters.Count == 0) return;
        using var _ = no_grad();
        var any = _adapters.Values.First().A;
        long rank = _adapters.Values.Max(w => w.A.shape[0]);
        _stackA = zeros(ids, rank, _inFeatures, dtype: any.dtype, device: any.device);
        _stackBt = zeros(ids, rank, _outFeatures, dtype: any.dtype, device: any.device);
        foreach (var (id, w) in _adapters)
        {
            long r = w.A.shape[0];
            using var rowA = _stackA[id];
            using var rowBt = _stackBt[id];
            using (var dst = rowA.narrow(0, 0, r)) dst.copy_(w.A);
            using (var dst = rowBt.narrow(0, 0, r)) { dst.copy_(w.Bt); dst.mul_(w.Scaling); }
        }
    }

    /// The routed rows' deltas alone (zero for rows routed to no adapter), in x's shape and dtype.
    public Tensor Delta(Tensor x)
    {
        using var rows = x.reshape(-1, x.shape[^1]);
        using var y = AddTo(zeros(rows.shape[0], _outFeatures, dtype: x.dtype, device: x.device), rows);
        var shape = x.shape.ToArray();
        shape[^1] = _outFeatures;
        return y.view(shape);
    }

    public Tensor AddTo(Tensor y, Tensor x)
    {
        using var scope = NewDisposeScope();
        // LoraAdapter's rule: bf16 over a bf16 base (A and Bᵀ cast down), float32 otherwise.
        var compute = LoraAdapter.ComputeDtype(x.dtype, y.dtype);
        var h = x.dtype == compute ? x : x.to(compute);
        Tensor d;
        if (_routing.PerRowIds is { } ids)
        {
            if (_stackA is null) return y;
            // x holds T rows per sequence (T = 1 in a decode step): (B, T, in) · A_bᵀ · s_b·B_bᵀ per sequence b
            long b = ids.shape[0];
            if (x.shape[0] % b != 0) throw new InvalidOperationException($"routing has {b} sequences, the projection got {x.shape[0]} rows");
            var a = h.view(b, -1, _inFeatures).bmm(_stackA.index_select(0, ids).to(compute).transpose(1, 2));
            d = a.bmm(_stackBt!.index_select(0, ids).to(compute)).view(-1, _outFeatures);
        }
        else
        {
            if (_routing.Single is not int id || !_adapters.TryGetValue(id, out var w)) return y;
            var a = nn.functional.linear(h, w.A.to(compute));
            if (y.dtype == compute) return y.addmm_(a, w.Bt.to(compute), beta: 1, alpha: (float)w.Scaling); // LoraAdapter.AddTo's path, op for op
            d = a.matmul(w.Bt).mul_(w.Scaling);
        }
        if (d.dtype != y.dtype) d = d.to(y.dtype);
        return y.add_(d, Runtime.KeptScalars.One);
    }

    public void Dispose()
    {
        foreach (var w in _adapters.Values) { w.A.Dispose(); w.Bt.Dispose(); }
        _adapters.Clear();
        Restack(0);
    }
}
