using LoraLab.Configuration;
using LoraLab.Models;
using LoraLab.Training;
using LoraLab.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;
using Ts = TorchSharp.Modules;

namespace LoraLab.Tests.Training;

/// GaLore-AdamW's update, checked against the paper's Algorithm 1 written out with plain tensor ops (float64), in
/// both orientations, across a projection refresh and a clipped step; its grouping of a model's weights; its state
/// through a checkpoint.
public class GaloreStepTests
{
    const double Lr = 1e-2, Wd = 0.1, Beta1 = 0.9, Beta2 = 0.999, Eps = 1e-8, Scale = 0.25;

    /// Three steps on one weight (and a 1-D weight on plain AdamW in the same optimizer); step 2 is clipped (its
    /// gradients times 0.5 through IGradientFactor). The reference, per step t with gradient G (out × in):
    ///   when (t − 1) mod T = 0:  U, S, Vᵀ = svd(G);  P = V[:, :r] if out ≥ in, else U[:, :r]
    ///   R = G·P (out ≥ in) or Pᵀ·G;  m = β1·m + (1 − β1)·R;  v = β2·v + (1 − β2)·R²
    ///   N = (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε)      (torch.optim.AdamW's normalisation)
    ///   W ← W·(1 − lr·wd) − lr·a·(N·Pᵀ or P·N)
    /// T = 10: P from step 1 throughout; T = 2: P taken again from step 3's gradient, the moments kept.
    [Theory]
    [InlineData(12, 5, 3, 10)]
    [InlineData(5, 12, 3, 10)]
    [InlineData(12, 5, 3, 2)]
    [InlineData(5, 12, 3, 2)]
    public void StepsMatchAPlainTensorComputation(int rows, int cols, int rank, int every)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var gen = new torch.Generator(17);
        var w0 = randn(new long[] { rows, cols }, generator: gen);
        var b0 = randn(new long[] { rows }, generator: gen);
        var grads = Enumerable.Range(0, 3).Select(_ => (W: randn(new long[] { rows, cols }, generator: gen), B: randn(new long[] { rows }, generator: gen))).ToList();
        double[] factors = [1, 0.5, 1];

        var w = new Ts.Parameter(w0.clone());
        var b = new Ts.Parameter(b0.clone());
        var bAlone = new Ts.Parameter(b0.clone());
        using var opt = OptimizerFactory.CreateGalore([b], [w], Lr, Wd, rank, every, Scale);
        using var adamw = new LoraLab.Training.Optimizers.AdamW([bAlone], Lr, Beta1, Beta2, Eps, Wd);
        for (int i = 0; i < 3; i++)
        {
            w.grad = grads[i].W.clone(); b.grad = grads[i].B.clone(); bAlone.grad = grads[i].B.clone();
            ((IGradientFactor)opt).GradientFactor = factors[i];
            adamw.GradientFactor = factors[i];
            opt.step(); adamw.step();
        }

        var expected = Reference(w0, grads.Select((g, i) => g.W.mul(factors[i])).ToList(), rank, every);
        double err = w.to(ScalarType.Float64).sub(expected).abs().max().item<double>();
        Assert.True(err < 1e-5, $"{rows}x{cols}, r={rank}, T={every}: largest difference {err:E2}");
        // The 1-D weight is plain AdamW, the same kernel as the optimizer `--method full` uses.
        Assert.True(b.eq(bAlone).all().item<bool>());
        Assert.NotEqual(0.0, w.sub(w0).abs().max().item<float>());
    }

    static Tensor Reference(Tensor w0, IReadOnlyList<Tensor> grads, int rank, int every)
    {
        bool right = w0.shape[0] >= w0.shape[1];
        var w = w0.to(ScalarType.Float64);
        Tensor? p = null, m = null, v = null;
        for (int t = 1; t <= grads.Count; t++)
        {
            var g32 = grads[t - 1];
            if ((t - 1) % every == 0)
            {
                // The SVD of the same float32 gradient, so both sides pick the same signs for the singular vectors.
                var (u, _, vh) = linalg.svd(g32, fullMatrices: false);
                p = (right ? vh.narrow(0, 0, rank).t() : u.narrow(1, 0, rank)).to(ScalarType.Float64);
            }
            var g = g32.to(ScalarType.Float64);
            var r = right ? g.matmul(p!) : p!.t().matmul(g);
            m = m is null ? r.mul(1 - Beta1) : m.mul(Beta1).add(r.mul(1 - Beta1));
            v = v is null ? r.mul(r).mul(1 - Beta2) : v.mul(Beta2).add(r.mul(r).mul(1 - Beta2));
            var n = m.div(1 - Math.Pow(Beta1, t)).div(v.div(1 - Math.Pow(Beta2, t)).sqrt().add(Eps));
            var back = right ? n.matmul(p!.t()) : p!.matmul(n);
            w = w.mul(1 - Lr * Wd).sub(back.mul(Lr * Scale));
        }
        return w;
    }

    /// The moments live in the projected shape (out × r for out ≥ in, else r × in), P beside them.
    [Theory]
    [InlineData(12, 5, new long[] { 12, 3 }, new long[] { 5, 3 })]
    [InlineData(5, 12, new long[] { 3, 12 }, new long[] { 5, 3 })]
    public void StateHasTheProjectedShape(int rows, int cols, long[] moments, long[] projection)
    {
        using var scope = NewDisposeScope();
        var w = new Ts.Parameter(randn(rows, cols));
        using var opt = (GaloreAdamW)OptimizerFactory.CreateGalore([], [w], Lr, 0, 3, 10, Scale);
        var s = (GaloreState)opt.state_dict().State.Single();
        Assert.Equal(moments, s.ExpAvg.shape);
        Assert.Equal(moments, s.ExpAvgSq.shape);
        Assert.Equal(projection, s.Projection!.shape);
        long elements = GaloreWeights.StateElements(3, [("model.layers.0.mlp.up_proj.weight", new long[] { rows, cols })]);
        Assert.Equal(2 * 3 * Math.Max(rows, cols) + 3 * Math.Min(rows, cols), elements);
        Assert.Equal(4 * elements, OptimizerStateBytes.Of(opt));
    }

    /// RunSetup puts the decoder layers' seven projections of every layer in the projected group and the embedding,
    /// norms and output layer on plain AdamW; the schedule sets both groups' rate.
    [Fact]
    public void TheDecoderProjectionsAreProjectedAndTheRestIsPlainAdamW()
    {
        var cfg = KnownConfigs.Get("tiny");
        using var model = RunSetup.RandomModel(cfg, new RunConfig { Device = "cpu", Method = TrainMethod.Galore });
        var trainable = RunSetup.Trainable(model, null, 1).Parameters;
        var run = new RunConfig { Method = TrainMethod.Galore, Lr = 2e-4 };
        RunSetup.ResolveGalore(run, cfg);
        Assert.Equal(cfg.HiddenSize / 4, run.GaloreRank);
        using var opt = RunSetup.Optimizer(run, trainable);
        var groups = opt.ParamGroups.Cast<Ts.ParamGroup>().ToList();
        Assert.Equal(2, groups.Count);
        var projected = Assert.IsType<GaloreParamGroup>(groups[1]);
        Assert.Equal((cfg.HiddenSize / 4, 200, 0.25), (projected.Rank, projected.UpdateEvery, projected.Scale));
        var names = trainable.ToDictionary(t => t.Param.Handle, t => t.Name);
        Assert.Equal(cfg.NumHiddenLayers * ModelShapes.LayerProjections.Length, projected.Parameters.Count());
        Assert.All(projected.Parameters, p => Assert.Matches(@"^model\.layers\.\d+\.(self_attn|mlp)\.\w+_proj\.weight$", names[p.Handle]));
        Assert.Equal(["lm_head.weight", "model.embed_tokens.weight", "model.norm.weight"],
            groups[0].Parameters.Select(p => names[p.Handle]).Where(n => !n.StartsWith("model.layers.")).Order());
        Assert.Equal(trainable.Count, groups.Sum(g => g.Parameters.Count()));

        OptimizerFactory.SetLearningRate(opt, 5e-5);
        Assert.All(groups, g => Assert.Equal(5e-5, g.LearningRate, 12));
    }

    [Fact]
    public void ARankAboveAProjectionsSmallerSideIsRefused()
    {
        var cfg = KnownConfigs.Get("tiny"); // k_proj and v_proj are 32 x 64
        var e = Assert.Throws<UserException>(() => RunSetup.ResolveGalore(new RunConfig { Method = TrainMethod.Galore, GaloreRank = 33 }, cfg));
        Assert.Equal("--galore-rank 33 is larger than model.layers.0.self_attn.k_proj.weight's smaller side (32 x 64); use at most 32", e.Message);
        RunSetup.ResolveGalore(new RunConfig { Method = TrainMethod.Galore, GaloreRank = 32 }, cfg);
    }

    /// A checkpoint written after step 2 and loaded into a new optimizer (over weights restored from it) takes steps 3
    /// and 4 exactly as the run that never stopped: moments, step counts and the projection (T = 3: step 3 uses step
    /// 1's P, step 4 takes a new one). Without the state, step 3 differs.
    [Fact]
    public void AResumedOptimizerTakesTheSameNextSteps()
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var gen = new torch.Generator(5);
        long[][] shapes = [[12, 5], [5, 12], [12]];
        var start = shapes.Select(s => randn(s, generator: gen)).ToList();
        var grads = Enumerable.Range(0, 4).Select(_ => shapes.Select(s => randn(s, generator: gen)).ToList()).ToList();
        var file = Path.Combine(TempDir.New(), "optimizer.bin");

        List<Ts.Parameter> Params(IEnumerable<Tensor> values) => values.Select(v => new Ts.Parameter(v.clone())).ToList();
        optim.Optimizer Make(List<Ts.Parameter> ps) => OptimizerFactory.CreateGalore([ps[2]], [ps[0], ps[1]], Lr, Wd, 2, 3, Scale);
        void Step(optim.Optimizer opt, List<Ts.Parameter> ps, int i)
        {
            foreach (var (p, g) in ps.Zip(grads[i])) p.grad = g.clone();
            opt.step();
        }

        var straight = Params(start);
        using var a = Make(straight);
        var resumed = Params(start);
        using (var b = Make(resumed))
        {
            for (int i = 0; i < 2; i++) { Step(a, straight, i); Step(b, resumed, i); }
            OptimizerFactory.Save(b, file);
        }
        var atCheckpoint = resumed.Select(p => p.detach().clone()).ToList();
        var fresh = Params(atCheckpoint);
        using var c = Make(fresh);
        OptimizerFactory.Load(c, file);
        var notLoaded = Params(atCheckpoint);
        using var d = Make(notLoaded);
        for (int i = 2; i < 4; i++)
        {
            Step(a, straight, i); Step(c, fresh, i); Step(d, notLoaded, i);
            foreach (var (x, y) in straight.Zip(fresh)) Assert.True(x.eq(y).all().item<bool>(), $"step {i + 1} differs after the resume");
            if (i == 2) Assert.False(straight[0].allclose(notLoaded[0], rtol: 0, atol: 1e-6), "step 3 without the saved state matched: the test shows nothing");
        }
    }

    /// A file of another rank's state does not fit this optimizer's tensors: a user error naming the file.
    [Fact]
    public void StateOfAnotherRankIsRefused()
    {
        using var scope = NewDisposeScope();
        var file = Path.Combine(TempDir.New(), "optimizer.bin");
        var w = new Ts.Parameter(randn(12, 5));
        using (var opt = OptimizerFactory.CreateGalore([], [w], Lr, 0, 2, 3, Scale)) OptimizerFactory.Save(opt, file);
        using var other = OptimizerFactory.CreateGalore([], [w], Lr, 0, 3, 3, Scale);
        var e = Assert.ThrowsAny<UserException>(() => OptimizerFactory.Load(other, file));
        Assert.Contains(file, e.Message);
    }

    /// A full fine-tuning checkpoint's AdamW state given to a GaLore run (or the other way) is named as such.
    [Fact]
    public void AnotherMethodsStateIsNamedAsSuch()
    {
        using var scope = NewDisposeScope();
        var file = Path.Combine(TempDir.New(), "optimizer.bin");
        var w = new Ts.Parameter(randn(12, 5));
        using (var adamw = OptimizerFactory.Create(OptimizerKind.AdamW, [w], Lr, 0)) OptimizerFactory.Save(adamw, file);
        using var galore = OptimizerFactory.CreateGalore([], [w], Lr, 0, 2, 3, Scale);
        var e = Assert.Throws<UserException>(() => OptimizerFactory.Load(galore, file));
        Assert.Equal($"{file}: holds AdamW optimizer state but this run uses GaloreAdamW (--method galore trains with GaloreAdamW); resume with the method the checkpoint was trained with", e.Message);
    }
}
