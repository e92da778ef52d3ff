using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Adapters.Quantization;

/// A frozen (out, in) weight as int8 with one fp32 scale per output row (absmax / 127), as bitsandbytes'
/// vector-wise int8 without outlier columns. Buffers: `weight_int8` (int8, out×in), `weight_scale` (fp32, out).
public sealed class Int8Weight : nn.Module, IBaseWeight
{
    public long Rows { get; }
    public long Cols { get; }

    Int8Weight(Tensor q, Tensor scale) : base("quant")
    {
        Rows = q.shape[0];
        Cols = q.shape[1];
        register_buffer("weight_int8", q.DetachFromDisposeScope());
        register_buffer("weight_scale", scale.DetachFromDisposeScope());
    }

    public static Int8Weight Quantize(Tensor w)
    {
        if (w.dim() != 2) throw new ArgumentException($"expected a 2-D weight, got [{string.Join(", ", w.shape)}]");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var w32 = w.to(ScalarType.Float32);
        var absmax = w32.abs().amax(1);
        var inv = absmax.reciprocal().mul_(127.0);
        inv.masked_fill_(inv.isinf(), 0); // an all-zero row stores zeros
        var q = w32.mul(inv.unsqueeze(1)).round_().clamp_(-127, 127).to(ScalarType.Int8);
        return new Int8Weight(q, absmax.div(127.0));
    }

    public Tensor Dequantize(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var w = Buffer("weight_int8").to(ScalarType.Float32).mul_(Buffer("weight_scale").to(ScalarType.Float32).unsqueeze(1));
        return (w.dtype == dtype ? w : w.to(dtype)).MoveToOuterDisposeScope();
    }

    public Tensor Linear(Tensor x) => DequantizingLinear.Apply(x, this);

    public long StorageBytes => named_buffers().Sum(b => b.Item2.numel() * b.Item2.ElementSize);

    Tensor Buffer(string name) => get_buffer(name) ?? throw new InvalidOperationException($"{name}: buffer missing");
}
