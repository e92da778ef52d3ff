using LoraLab.Training;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;
using Ts = TorchSharp.Modules;

namespace LoraLab.Tests.Training;

/// The optimizers that free each parameter's temporaries (and slice large tensors) must update exactly as
/// TorchSharp's own, step after step, for every option the CLI exposes.
public class ScopedOptimizerTests
{
    public static TheoryData<string> Kinds => new() { "adamw", "adamw-amsgrad", "adam-wd", "sgd", "sgd-nesterov-wd" };

    /// The per-parameter path (SGD always; Adam/AdamW where libtorch lacks the fused kernels) is bit-identical.
    [Theory]
    [MemberData(nameof(Kinds))]
    public void UpdatesAreBitIdenticalToTorchSharps(string kind) => Compare(kind, fused: false, exact: true);

    /// The fused kernels (the default for Adam/AdamW) agree with TorchSharp's update to float32 rounding.
    [Theory]
    [InlineData("adamw")]
    [InlineData("adamw-amsgrad")]
    [InlineData("adam-wd")]
    public void FusedUpdatesMatchTorchSharps(string kind)
    {
        Assert.True(LoraLab.Training.Optimizers.FusedAdamKernel.Available, "libtorch's fused Adam kernels did not compile");
        Compare(kind, fused: true, exact: false);
    }

    static void Compare(string kind, bool fused, bool exact)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var gen = new torch.Generator(11);
        // One tensor large enough to be updated in slices (over 1 Mi elements), one small, one scalar-like.
        var shapes = new[] { new long[] { 2100, 512 }, new long[] { 7, 3 }, new long[] { 1 } };
        var ours = shapes.Select(s => new Ts.Parameter(randn(s, generator: gen))).ToList();
        var theirs = ours.Select(p => new Ts.Parameter(p.detach().clone())).ToList();
        var a = Make(kind, ours, scoped: true, fused);
        var b = Make(kind, theirs, scoped: false);
        for (int step = 0; step < 3; step++)
        {
            foreach (var (p, q) in ours.Zip(theirs))
            {
                var g = randn(p.shape, generator: gen);
                p.grad = g.clone(); q.grad = g.clone();
            }
            a.step(); b.step();
            foreach (var (p, q) in ours.Zip(theirs))
                Assert.True(exact ? p.eq(q).all().item<bool>() : p.allclose(q, rtol: 1e-5, atol: 1e-6),
                    $"{kind}: step {step + 1} differs for a {string.Join("x", p.shape)} parameter");
        }
    }

    static optim.Optimizer Make(string kind, IList<Ts.Parameter> ps, bool scoped, bool fused = false) => (kind, scoped) switch
    {
        ("adamw", true) => new LoraLab.Training.Optimizers.AdamW(ps, 1e-2, 0.9, 0.99, 1e-8, 0.1) { Fused = fused },
        ("adamw", false) => optim.AdamW(ps, 1e-2, 0.9, 0.99, 1e-8, 0.1),
        ("adamw-amsgrad", true) => new LoraLab.Training.Optimizers.AdamW(ps, 1e-2, 0.9, 0.99, 1e-8, 0.1, amsgrad: true) { Fused = fused },
        ("adamw-amsgrad", false) => optim.AdamW(ps, 1e-2, 0.9, 0.99, 1e-8, 0.1, amsgrad: true),
        ("adam-wd", true) => new LoraLab.Training.Optimizers.Adam(ps, 1e-2, 0.8, 0.95, 1e-6, 0.05) { Fused = fused },
        ("adam-wd", false) => optim.Adam(ps, 1e-2, 0.8, 0.95, 1e-6, 0.05),
        ("sgd", true) => new LoraLab.Training.Optimizers.SGD(ps, 0.1, 0.9, 0, 0, false),
        ("sgd", false) => optim.SGD(ps, 0.1, 0.9, 0, 0, false),
        ("sgd-nesterov-wd", true) => new LoraLab.Training.Optimizers.SGD(ps, 0.1, 0.9, 0, 0.01, true),
        ("sgd-nesterov-wd", false) => optim.SGD(ps, 0.1, 0.9, 0, 0.01, true),
        _ => throw new ArgumentException(kind),
    };

    [Fact]
    public void FactoryBuildsTheScopedOptimizers()
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var p = new Ts.Parameter(zeros(2));
        using var opt = OptimizerFactory.Create(LoraLab.Configuration.OptimizerKind.AdamW, new[] { p }, 1e-3, 0.01);
        Assert.IsType<LoraLab.Training.Optimizers.AdamW>(opt);
    }
}
