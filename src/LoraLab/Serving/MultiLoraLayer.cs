using LoraLab.Adapters;
using LoraLab.Models;
using static TorchSharp.torch;

namespace LoraLab.Serving;

/// Many LoRA adapters on one projection, each row of a batch through its own (S-LoRA / Punica style, grouped by
/// adapter): y = W x + s_a · B_a A_a x for a row routed to adapter a, and y = W x for a row routed to none. Inference
/// only. A sequence routed alone through one adapter computes exactly what <see cref="LoraAdapter.AddTo"/> does.
public sealed class MultiLoraLayer : IProjectionAdapter
{
    readonly AdapterRouting _routing;
    readonly Dictionary<int, (Tensor A, Tensor Bt, double Scaling)> _adapters = new();

    readonly long _outFeatures;

    public MultiLoraLayer(AdapterRouting routing, long outFeatures)
    {
        _routing = routing;
        _outFeatures = outFeatures;
    }

    public AdapterState State => AdapterState.Active;
    public void Enable() { }
    public void Disable() => throw new NotSupportedException("a served projection routes each row; send the row to no adapter instead");

    public int Count => _adapters.Count;

    /// Adds adapter `id` (A (r, in) and B (out, r) are copied; the caller keeps its tensors).
    public void Add(int id, Tensor a, Tensor b, double scaling)
    {
        using var _ = no_grad();
        _adapters.Add(id, (a.detach().clone(), b.detach().t().contiguous(), scaling));
    }

    public void Remove(int id)
    {
        if (!_adapters.Remove(id, out var w)) return;
        w.A.Dispose();
        w.Bt.Dispose();
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
        foreach (var (id, rows) in _routing.Groups)
        {
            if (!_adapters.TryGetValue(id, out var w)) continue;
            var xs = rows is null ? x : x.index_select(0, rows);
            var h = xs.dtype == LoraAdapter.Dtype ? xs : xs.to(LoraAdapter.Dtype);
            var a = nn.functional.linear(h, w.A);
            if (rows is null && y.dtype == LoraAdapter.Dtype)
            {
                y.addmm_(a, w.Bt, beta: 1, alpha: (float)w.Scaling); // LoraAdapter.AddTo's float32 path, op for op
                continue;
            }
            var d = a.matmul(w.Bt).mul_(w.Scaling);
            if (d.dtype != y.dtype) d = d.to(y.dtype);
            if (rows is null) y.add_(d);
            else y.index_add_(0, rows, d, 1);
        }
        return y;
    }

    public void Dispose()
    {
        foreach (var w in _adapters.Values) { w.A.Dispose(); w.Bt.Dispose(); }
        _adapters.Clear();
    }
}
