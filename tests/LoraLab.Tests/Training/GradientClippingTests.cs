using LoraLab.Training;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;
using Ts = TorchSharp.Modules;

namespace LoraLab.Tests.Training;

/// Clipping folded into the optimizer's update must move the weights as PyTorch's clip-then-step does.
public class GradientClippingTests
{
    [Fact]
    public void TotalNormAndCoefficientMatchClipGradNorm()
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var gen = new torch.Generator(3);
        var ps = new[] { new Ts.Parameter(zeros(40, 30)), new Ts.Parameter(zeros(7)), new Ts.Parameter(zeros(2)) };
        ps[0].grad = randn(40, 30, generator: gen);
        ps[1].grad = randn(7, generator: gen);
        // ps[2] has no gradient and is skipped.
        var copies = ps.Take(2).Select(p => { var q = new Ts.Parameter(zeros(p.shape)); q.grad = p.grad!.clone(); return q; }).ToList();
        double ours = GradientClipping.TotalNorm(ps);
        double theirs = nn.utils.clip_grad_norm_(copies, 0.5);
        Assert.Equal(theirs, ours, 5);
        double coef = GradientClipping.Coefficient(ours, 0.5);
        Assert.True(copies[0].grad!.allclose(ps[0].grad!.mul(coef), rtol: 1e-6, atol: 0), "coefficient differs from clip_grad_norm_'s");
        Assert.Equal(1.0, GradientClipping.Coefficient(ours, 100));
        Assert.True(double.IsNaN(GradientClipping.Coefficient(double.NaN, 1)));
        Assert.Equal(0, GradientClipping.TotalNorm(new[] { ps[2] }));
    }

    public static TheoryData<string, bool> Kinds => new()
    {
        { "adamw", true }, { "adamw", false }, { "adam", true }, { "adam", false }, { "sgd", false }, { "foreign", false },
    };

    /// Three steps with clipping (the first two clipped, the last not) against TorchSharp's clip_grad_norm_ followed by
    /// TorchSharp's own optimizer: the per-parameter paths multiply exactly as clip_grad_norm_ does, the fused kernel
    /// divides by the reciprocal inside its update (float32 rounding).
    [Theory]
    [MemberData(nameof(Kinds))]
    public void ClippedStepsMatchClipThenStep(string kind, bool fused)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var gen = new torch.Generator(5);
        var shapes = new[] { new long[] { 300, 64 }, new long[] { 5 } };
        var ours = shapes.Select(s => new Ts.Parameter(randn(s, generator: gen))).ToList();
        var theirs = ours.Select(p => new Ts.Parameter(p.detach().clone())).ToList();
        var a = Make(kind, ours, fused);
        var b = Make(kind == "foreign" ? "sgd-ts" : kind + "-ts", theirs, false);
        foreach (double maxNorm in new[] { 0.5, 2.0, 1e6 })
        {
            foreach (var (p, q) in ours.Zip(theirs))
            {
                var g = randn(p.shape, generator: gen);
                p.grad = g.clone(); q.grad = g.clone();
            }
            double norm = GradientClipping.TotalNorm(ours);
            GradientClipping.ScaleForStep(a, ours, GradientClipping.Coefficient(norm, maxNorm));
            a.step();
            nn.utils.clip_grad_norm_(theirs, maxNorm);
            b.step();
            foreach (var (p, q) in ours.Zip(theirs))
                Assert.True(p.allclose(q, rtol: 1e-5, atol: 1e-6), $"{kind} (fused {fused}): max norm {maxNorm} differs");
            if (a is LoraLab.Training.Optimizers.IGradientFactor f) Assert.Equal(1.0, f.GradientFactor);
        }
    }

    static optim.Optimizer Make(string kind, IList<Ts.Parameter> ps, bool fused) => kind switch
    {
        "adamw" => new LoraLab.Training.Optimizers.AdamW(ps, 1e-2, 0.9, 0.99, 1e-8, 0.1) { Fused = fused },
        "adamw-ts" => optim.AdamW(ps, 1e-2, 0.9, 0.99, 1e-8, 0.1),
        "adam" => new LoraLab.Training.Optimizers.Adam(ps, 1e-2, 0.8, 0.95, 1e-6, 0.05) { Fused = fused },
        "adam-ts" => optim.Adam(ps, 1e-2, 0.8, 0.95, 1e-6, 0.05),
        "sgd" => new LoraLab.Training.Optimizers.SGD(ps, 0.1, 0.9, 0, 0.01, false),
        "sgd-ts" or "foreign" => optim.SGD(ps, 0.1, 0.9, 0, 0.01, false),
        _ => throw new ArgumentException(kind),
    };
}
