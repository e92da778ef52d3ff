using LoraLab.Models;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Models;

/// fp32 master weights under bf16 compute: the product, the input's gradient and the weight's and bias's fp32
/// gradients are those of autograd through a bf16 cast of the weight, and gradients of two passes add up.
public class CastLinearTests
{
    static (Tensor X, Tensor W, Tensor B) Inputs(int seed)
    {
        var gen = new TorchSharp.torch.Generator((ulong)seed);
        var x = randn(new long[] { 3, 7, 24 }, generator: gen).to(ScalarType.BFloat16).requires_grad_();
        var w = randn(16, 24, generator: gen).div_(5).requires_grad_();
        var b = randn(16, generator: gen).requires_grad_();
        return (x, w, b);
    }

    [Fact]
    public void ProductAndGradientsAreAutogradsThroughACast()
    {
        var (x, w, b) = Inputs(1);
        var (xr, wr, br) = Inputs(1);
        using var upstream = randn(new long[] { 3, 7, 16 }, generator: new TorchSharp.torch.Generator(2)).to(ScalarType.BFloat16);

        using var y = CastLinear.Apply(x, w, b);
        using var yr = nn.functional.linear(xr, wr.to(ScalarType.BFloat16), br.to(ScalarType.BFloat16));
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        Assert.True(y.equal(yr).all().item<bool>());

        y.backward(new[] { upstream });
        yr.backward(new[] { upstream });
        Assert.Equal(ScalarType.Float32, w.grad!.dtype);
        Assert.Equal(ScalarType.Float32, b.grad!.dtype);
        Assert.True(x.grad!.equal(xr.grad!).all().item<bool>(), "input gradient");
        Assert.True(w.grad.allclose(wr.grad!, rtol: 1e-2, atol: 1e-3), "weight gradient");
        // The bias's gradient is summed in fp32 (autograd's, through the cast, is rounded to bf16 first).
        using var exact = upstream.to(ScalarType.Float32).sum(new long[] { 0, 1 });
        Assert.True(b.grad.allclose(exact, rtol: 1e-5, atol: 1e-5), "bias gradient");
        Assert.True(b.grad.allclose(br.grad!, rtol: 1e-2, atol: 1e-2), "bias gradient against autograd's");
    }

    [Fact]
    public void GradientsOfTwoPassesAccumulateInFloat32()
    {
        var (x, w, b) = Inputs(3);
        using (var y = CastLinear.Apply(x, w, b)) y.sum().backward();
        using var once = w.grad!.clone();
        using (var y = CastLinear.Apply(x, w, b)) y.sum().backward();
        Assert.True(w.grad!.allclose(once.mul(2), rtol: 1e-6, atol: 1e-6));
    }

    [Fact]
    public void WithoutGradientsItIsThePlainCastProduct()
    {
        var (x, w, b) = Inputs(4);
        using var _ = no_grad();
        using var y = CastLinear.Apply(x, w, b);
        using var yr = nn.functional.linear(x, w.to(ScalarType.BFloat16), b.to(ScalarType.BFloat16));
        Assert.True(y.equal(yr).all().item<bool>());
    }
}
