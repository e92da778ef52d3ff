using LoraLab.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraLab.Adapters;

/// DoRA's part of an adapter (Liu et al. 2024, arXiv:2402.09353): a trained magnitude m per output row (PEFT's
/// `lora_magnitude_vector`, float32) over the row-normalised adapted weight:
///
///     y = g ⊙ (W x + s·B A dropout(x)) + b,   g = m / ‖W + s·B·A‖_row
///
/// The row norm is a constant for autograd (the paper's §4.3, as PEFT computes it). It is computed once per forward
/// without the (out, in) sum: ‖W + s·BA‖² = ‖W‖² + 2s·rowsum(B ⊙ W·Aᵀ) + s²·rowsum(B·(A·Aᵀ) ⊙ B), where W·Aᵀ is the
/// base's own product with A's r rows (dequantized under QLoRA) and ‖W‖² is kept while the base weight is unchanged.
/// The output reuses the base product: y = t + (g − 1) ⊙ (t − b) with t = W x + b + s·BA dropout(x), in the form
/// PEFT uses, so that in bf16 a magnitude change far below bf16's step still moves the output. With dropout PEFT's
/// training forward differs: it also multiplies W by the dropped-out input (a second base product); this keeps the
/// paper's form, dropout on the LoRA branch only. Without dropout (inference, evaluation) the two agree.
public sealed class DoraMagnitude : IDisposable
{
    /// m, (out); trained.
    public Parameter Weight { get; }
    Tensor? _baseRowNormsSquared;

    public DoraMagnitude(long outFeatures, Device device)
    {
        Weight = new Parameter(ones(outFeatures, dtype: LoraAdapter.Dtype, device: device));
    }

    /// ‖W + s·B·A‖ per output row in float32, no gradient; the base product with A runs in `dtype` (the compute dtype).
    public Tensor RowNorms(LoraAdapter a, ScalarType dtype)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var A = a.lora_A.weight!;
        var B = a.lora_B.weight!;
        if (_baseRowNormsSquared is null)
        {
            // several stream threads may get here at once (--streams): one result is kept, the others freed
            var fresh = BaseRowNormsSquared(a.Base).DetachFromDisposeScope();
            if (Interlocked.CompareExchange(ref _baseRowNormsSquared, fresh, null) is not null) fresh.Dispose();
        }
        // W·Aᵀ as (A Wᵀ)ᵀ: r rows through the base, so a packed weight is dequantized as in forward, never kept.
        var wat = a.Base.Product(A.to(dtype)).to(LoraAdapter.Dtype).t(); // (out, r)
        var cross = B.mul(wat).sum(1);
        var gram = A.matmul(A.t());                                         // (r, r)
        var lora = B.matmul(gram).mul_(B).sum(1);
        double s = a.Scaling;
        return _baseRowNormsSquared.add(cross, alpha: 2 * s).add_(lora, alpha: s * s).clamp_min_(0).sqrt_().MoveToOuterDisposeScope();
    }

    /// m = ‖W + s·B·A‖: a fresh adapter then leaves the base's output unchanged (g = 1).
    public void Reset(LoraAdapter a, ScalarType dtype)
    {
        using var norms = RowNorms(a, dtype);
        using var _ = no_grad();
        Weight.copy_(norms);
    }

    /// y = t + (g − 1) ⊙ (t − b), g = m / norms, for t = W x + b + s·BA dropout(x) of 2-D rows. In float32, where g
    /// itself keeps every change of m, as y = g ⊙ t + (1 − g) ⊙ b: a plain product, one pass fewer in backward.
    public Tensor Apply(Tensor t, Tensor? bias, Tensor norms)
    {
        using var scope = NewDisposeScope();
        if (t.dtype == ScalarType.Float32)
        {
            var g = Weight.div(norms);
            var y = t.mul(g);
            if (bias is not null) y = y.add_(bias.mul(g.neg().add_(1)));
            return y.MoveToOuterDisposeScope();
        }
        var gm1 = Weight.div(norms).sub_(1);
        if (gm1.dtype != t.dtype) gm1 = gm1.to(t.dtype);
        var u = bias is null ? t : t.sub(bias.dtype == t.dtype ? bias : bias.to(t.dtype));
        return t.addcmul(u, gm1, 1).MoveToOuterDisposeScope();
    }

    /// g = m / ‖W + s·B·A‖ per row, from the dense merged weight W + s·B·A (float32): what a merge multiplies each row by.
    public Tensor MergeScale(Tensor merged)
    {
        using var _ = no_grad();
        using var norms = merged.norm(1, keepdim: true, p: 2);
        using var m = Weight.detach();
        using var column = m.unsqueeze(1);
        using var onDevice = norms.to(column.device);
        return column.div(onDevice);
    }

    /// The base weight changed (a merge folded an update into it): ‖W‖² is computed again at the next forward.
    public void BaseChanged()
    {
        Interlocked.Exchange(ref _baseRowNormsSquared, null)?.Dispose();
    }

    /// The kept ‖W‖² (the magnitude itself is a parameter of the projection, freed with it).
    public void Dispose() => BaseChanged();

    static Tensor BaseRowNormsSquared(Projection p)
    {
        using var w = p.DenseWeight(LoraAdapter.Dtype);
        return w.square().sum(1);
    }
}
