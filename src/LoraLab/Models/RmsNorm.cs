using LoraLab.Diagnostics.Profiling;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraLab.Models;

/// RMSNorm as HF's LlamaRMSNorm: normalise in float32, cast back, then scale by the weight.
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    readonly double _eps;
    public Parameter weight;

    public RmsNorm(string name, long dim, double eps, ScalarType dtype) : base(name)
    {
        _eps = eps;
        weight = OwnedParameter.From(ones(dim, dtype: dtype));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = x.to(ScalarType.Float32);
        // Profile mark on the statistic's use of h only: a mark on both uses would sum their gradients before the
        // residual's, changing the float sums' order (OpProfile: marks leave gradients bit-identical).
        var variance = OpProfile.In(ProfiledOp.Norm, h).pow(2).mean(new long[] { -1 }, keepdim: true);
        var normed = h.mul(variance.add(_eps).rsqrt()).to(x.dtype);
        // fp32 master weights under half-precision compute: the scale is cast, so the output stays in x's dtype.
        var scale = weight.dtype == x.dtype ? weight : weight.to(x.dtype);
        return OpProfile.Out(ProfiledOp.Norm, scale.mul(normed)).MoveToOuterDisposeScope();
    }
}
