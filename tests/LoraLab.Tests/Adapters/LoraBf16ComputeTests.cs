using LoraLab.Adapters;
using LoraLab.Models;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// Over a bf16 base an adapter multiplies in bf16 (A and B cast down, as autocast does) while its weights and their
/// gradients stay float32: the output is the float32 computation within bf16's rounding, and no float32 copy of the
/// input is made.
public class LoraBf16ComputeTests
{
    const long In = 64, Out = 48;

    static (Projection P, LoraAdapter A) Make(ScalarType dtype)
    {
        var gen = new TorchSharp.torch.Generator(3);
        var p = new Projection("p", In, Out, bias: false);
        using (var w = randn(Out, In, generator: gen).to(dtype)) p.SetWeight(w);
        var a = LoraAdapter.Attach(p, new LoraSite("p", 0, "q_proj", In, Out, R: 4, Alpha: 8, Scaling: 2), dropout: 0, CPU);
        using var _ = no_grad();
        using (var t = randn(4, In, generator: gen).div_(8)) a.lora_A.weight!.copy_(t);
        using (var t = randn(Out, 4, generator: gen).div_(8)) a.lora_B.weight!.copy_(t);
        return (p, a);
    }

    [Fact]
    public void Bf16BaseMultipliesInBf16WithFloat32WeightsAndGradients()
    {
        var (p32, a32) = Make(ScalarType.Float32);
        var (p16, a16) = Make(ScalarType.BFloat16);
        using var x = randn(new long[] { 2, 5, In }, generator: new TorchSharp.torch.Generator(4));
        using var y32 = p32.forward(x);
        using var x16 = x.to(ScalarType.BFloat16);
        using var y16 = p16.forward(x16);
        Assert.Equal(ScalarType.BFloat16, y16.dtype);
        // bf16 keeps 8 bits: relative error of a sum of 64 products stays within a few parts in 256
        using var err = y16.to(ScalarType.Float32).sub(y32).abs().max();
        using var scale = y32.abs().max();
        Assert.True(err.item<float>() < 0.03 * scale.item<float>(), $"bf16 output off by {err.item<float>()} of {scale.item<float>()}");

        using (var loss = y32.pow(2).sum()) loss.backward();
        using (var loss = y16.to(ScalarType.Float32).pow(2).sum()) loss.backward();
        foreach (var (g32, g16) in new[] { (a32.lora_A.weight!.grad!, a16.lora_A.weight!.grad!), (a32.lora_B.weight!.grad!, a16.lora_B.weight!.grad!) })
        {
            Assert.Equal(ScalarType.Float32, g16.dtype);
            using var diff = g16.sub(g32).abs().max();
            using var size = g32.abs().max();
            Assert.True(diff.item<float>() < 0.05 * size.item<float>(), $"bf16 gradient off by {diff.item<float>()} of {size.item<float>()}");
        }
        Assert.Equal(ScalarType.Float32, a16.lora_A.weight!.dtype);
    }

    [Fact]
    public void TheDeltaAloneFollowsTheSameRule()
    {
        var (_, a16) = Make(ScalarType.BFloat16);
        using var _ = no_grad();
        using var x = randn(3, In).to(ScalarType.BFloat16);
        using var d = a16.Delta(x);
        Assert.Equal(ScalarType.BFloat16, d.dtype);
        // exactly the bf16 products: s · (x Abf16ᵀ) Bbf16ᵀ
        using var ab = a16.lora_A.weight!.to(ScalarType.BFloat16);
        using var bb = a16.lora_B.weight!.to(ScalarType.BFloat16);
        using var expected = nn.functional.linear(nn.functional.linear(x, ab), bb).mul_(2.0);
        Assert.True(d.eq(expected).all().item<bool>());
    }
}
