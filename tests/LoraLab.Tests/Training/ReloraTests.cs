using LoraLab.Adapters;
using LoraLab.Configuration;
using LoraLab.Models;
using LoraLab.Tests.Adapters;
using LoraLab.Training;
using LoraLab.Training.Optimizers;
using LoraLab.Training.Relora;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Training;

/// ReLoRA (`--relora-every K`): a restart merges each adapter into its fp32 base and starts a fresh one without
/// changing the output, restarts add up to an update of rank above r, 99% of the moments are pruned, the schedule
/// re-warms after each restart, and the methods it cannot run under refuse it.
public class ReloraTests
{
    const int Seed = 5;

    /// The tiny architecture in fp32 (or `dtype`) with LoRA r on q and v (no dropout), and its trainable weights.
    static (CausalLM Model, IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Param)> Trainable) TinyWithLora(int r = 4,
        ScalarType dtype = ScalarType.Float32)
    {
        var model = LoraTestModels.RandomTiny(dtype: dtype);
        var trainable = RunSetup.Trainable(model, RunSetup.Lora(new RunConfig { Targets = "qv", R = r, Alpha = 2 * r, LoraDropout = 0 }, null), Seed).Parameters;
        return (model, trainable);
    }

    static Tensor Logits(CausalLM model, Tensor ids)
    {
        using var _ = no_grad();
        return model.Forward(ids);
    }

    /// One AdamW (or `kind`) step of next-token loss on `ids`.
    static void Step(CausalLM model, optim.Optimizer opt, Tensor ids)
    {
        using var scope = NewDisposeScope();
        opt.zero_grad();
        var loss = Losses.NextTokenMean(model.Forward(ids), ids);
        loss.backward();
        opt.step();
    }

    [Fact]
    public void ARestartKeepsTheLogitsMergesTheUpdateAndStartsAFreshAdapter()
    {
        using var scope = NewDisposeScope();
        var (model, trainable) = TinyWithLora();
        using var _ = model;
        LoraLab.Tests.Adapters.LoraTestModels.RandomizeB(model);
        var restarts = ReloraRestarts.Attach(model, 3, LoraInit.Kaiming, Seed, null);
        using var opt = RunSetup.Optimizer(new RunConfig { Lr = 1e-3 }, trainable);
        var ids = LoraTestModels.RandomIds();
        var before = Logits(model, ids);
        var adapters = LoraInjector.Adapters(model);
        // W + s·B·A, written out from the weights before the restart.
        var expected = adapters.ToDictionary(a => a.Path, a => a.Base.Weight!.detach().clone()
            .add(a.lora_B.weight!.detach().matmul(a.lora_A.weight!.detach()).mul(a.Scaling)));
        var oldA = adapters.ToDictionary(a => a.Path, a => a.lora_A.weight!.detach().clone());

        restarts.Restart(3, opt);

        var after = Logits(model, ids);
        Assert.True(after.sub(before).abs().max().item<float>() <= 1e-5f, $"logits moved by {after.sub(before).abs().max().item<float>():E2}");
        foreach (var a in adapters)
        {
            Assert.Equal(AdapterState.Active, a.State);
            Assert.True(a.Base.Weight!.sub(expected[a.Path]).abs().max().item<float>() <= 1e-6f, $"{a.Path}: W is not W + s·B·A");
            Assert.Equal(0, a.lora_B.weight!.abs().sum().item<float>());
            Assert.False(LoraTestModels.Same(oldA[a.Path], a.lora_A.weight!), $"{a.Path}: A was not drawn afresh");
            double bound = 1 / Math.Sqrt(a.Base.InFeatures); // kaiming_uniform_(a=√5): U(−1/√in, 1/√in)
            Assert.True(a.lora_A.weight!.abs().max().item<float>() <= bound);
        }

        // The same restart of the same run draws the same A's: a resumed run repeats them.
        var (again, againTrainable) = TinyWithLora();
        using var __ = again;
        LoraLab.Tests.Adapters.LoraTestModels.RandomizeB(again);
        using var againOpt = RunSetup.Optimizer(new RunConfig { Lr = 1e-3 }, againTrainable);
        ReloraRestarts.Attach(again, 3, LoraInit.Kaiming, Seed, null).Restart(3, againOpt);
        foreach (var (a, b) in adapters.Zip(LoraInjector.Adapters(again)))
            Assert.True(LoraTestModels.Same(a.lora_A.weight!, b.lora_A.weight!), $"{a.Path}: a different A on the same restart");
    }

    [Fact]
    public void ADoraRestartMergesTheRowScaleTooAndKeepsTheLogits()
    {
        using var scope = NewDisposeScope();
        var model = LoraTestModels.RandomTiny();
        using var _ = model;
        var trainable = RunSetup.Trainable(model, RunSetup.Lora(new RunConfig { Targets = "qv", R = 4, Alpha = 8, LoraDropout = 0, UseDora = true }, null), Seed).Parameters;
        LoraTestModels.RandomizeB(model);
        using (no_grad())
            foreach (var a in LoraInjector.Adapters(model)) a.Dora!.Weight.mul_(1.1); // g ≠ 1, so the row scale matters
        var restarts = ReloraRestarts.Attach(model, 3, LoraInit.Kaiming, Seed, null);
        using var opt = RunSetup.Optimizer(new RunConfig { Lr = 1e-3 }, trainable);
        var ids = LoraTestModels.RandomIds();
        var before = Logits(model, ids);
        restarts.Restart(3, opt);
        var after = Logits(model, ids);
        Assert.True(after.sub(before).abs().max().item<float>() <= 1e-5f, $"logits moved by {after.sub(before).abs().max().item<float>():E2}");
        foreach (var a in LoraInjector.Adapters(model))
        {
            Assert.Equal(0, a.lora_B.weight!.abs().sum().item<float>());
            var norms = a.Base.Weight!.norm(1, keepdim: false, p: 2);
            Assert.True(a.Dora!.Weight.sub(norms).abs().max().item<float>() <= 1e-5f, $"{a.Path}: the magnitude did not restart at the new row norms");
        }
    }

    [Fact]
    public void TheMergedModelOfADoraRunIncludesTheRowScale()
    {
        using var scope = NewDisposeScope();
        var model = LoraTestModels.RandomTiny();
        using var _ = model;
        RunSetup.Trainable(model, RunSetup.Lora(new RunConfig { Targets = "qv", R = 4, Alpha = 8, LoraDropout = 0, UseDora = true }, null), Seed);
        LoraTestModels.RandomizeB(model);
        using (no_grad())
            foreach (var a in LoraInjector.Adapters(model)) a.Dora!.Weight.mul_(1.1);
        var restarts = ReloraRestarts.Attach(model, 3, LoraInit.Kaiming, Seed, null);
        var ids = LoraTestModels.RandomIds();
        var trained = Logits(model, ids);
        // the run's final model/: the merged weights on a plain copy of the base
        using var plain = LoraTestModels.RandomTiny();
        foreach (var (name, w) in restarts.MergedWeights()) using (w) plain.LoadTensor(name, w);
        var written = Logits(plain, ids);
        Assert.True(written.sub(trained).abs().max().item<float>() <= 1e-5f, $"the merged model differs by {written.sub(trained).abs().max().item<float>():E2}");
    }

    [Fact]
    public void AfterSeveralRestartsTheAccumulatedUpdateHasRankAboveR()
    {
        using var scope = NewDisposeScope();
        const int r = 2, every = 2, steps = 8;
        var (model, trainable) = TinyWithLora(r);
        using var _ = model;
        model.train();
        var restarts = ReloraRestarts.Attach(model, every, LoraInit.Kaiming, Seed, null);
        var adapters = LoraInjector.Adapters(model);
        var start = adapters.ToDictionary(a => a.Path, a => a.Base.Weight!.detach().clone());
        using var opt = RunSetup.Optimizer(new RunConfig { Lr = 1e-2 }, trainable);
        for (int step = 1; step <= steps; step++)
        {
            Step(model, opt, LoraTestModels.RandomIds(seed: step));
            if (restarts.DueAfter(step)) restarts.Restart(step, opt);
        }
        Assert.Equal(steps / every, restarts.CountAt(steps));
        foreach (var a in adapters)
        {
            // Numerical rank: singular values above the rounding of one fp32 pass over W (ε·‖W‖_F, as `analyze` counts).
            var w = a.Base.Weight!.to(ScalarType.Float64);
            var s = linalg.svdvals(w.sub(start[a.Path].to(ScalarType.Float64))).data<double>().ToArray();
            double tolerance = Math.Pow(2, -23) * w.norm().item<double>();
            int rank = s.Count(x => x > tolerance);
            Assert.True(rank > r, $"{a.Path}: the update has rank {rank} (σ = {string.Join(", ", s.Take(10).Select(x => x.ToString("E2")))})");
            Assert.Equal(restarts.CountAt(steps) * r, rank); // one rank-r piece per restart, in general position
        }
    }

    [Theory]
    [InlineData(1000, 10)]
    [InlineData(250, 3)] // ⌈2.5⌉
    [InlineData(100, 1)]
    [InlineData(7, 1)]
    public void PruningKeepsExactlyTheTopOnePercentByMagnitude(int n, int kept)
    {
        using var scope = NewDisposeScope();
        var t = randn(new long[] { n / (n % 10 == 0 ? 10 : 1), n % 10 == 0 ? 10 : 1 }, generator: new TorchSharp.torch.Generator(9));
        var original = t.clone().view(-1).data<float>().ToArray();
        MomentPruning.KeepLargest(t);
        var pruned = t.view(-1).data<float>().ToArray();
        Assert.Equal(kept, MomentPruning.KeptOf(n));
        var top = Enumerable.Range(0, n).OrderByDescending(i => Math.Abs(original[i])).Take(kept).ToHashSet();
        for (int i = 0; i < n; i++) Assert.Equal(top.Contains(i) ? original[i] : 0f, pruned[i]);
    }

    [Fact]
    public void AdamsFirstMomentIsAlsoZeroWhereItsSecondWasPruned()
    {
        using var scope = NewDisposeScope();
        var gen = new TorchSharp.torch.Generator(4);
        var m = randn(new long[] { 40, 50 }, generator: gen);
        var v = rand(new long[] { 40, 50 }, generator: gen).add_(1e-3);
        var (m0, v0) = (m.view(-1).data<float>().ToArray(), v.view(-1).data<float>().ToArray());
        MomentPruning.Prune(new Moments(m, v, null));
        var (m1, v1) = (m.view(-1).data<float>().ToArray(), v.view(-1).data<float>().ToArray());
        var topM = Enumerable.Range(0, 2000).OrderByDescending(i => Math.Abs(m0[i])).Take(20).ToHashSet();
        var topV = Enumerable.Range(0, 2000).OrderByDescending(i => v0[i]).Take(20).ToHashSet();
        for (int i = 0; i < 2000; i++)
        {
            Assert.Equal(topV.Contains(i) ? v0[i] : 0f, v1[i]);
            Assert.Equal(topM.Contains(i) && topV.Contains(i) ? m0[i] : 0f, m1[i]); // an m without its v would step by m/ε
        }
    }

    [Theory]
    [InlineData(OptimizerKind.AdamW)]
    [InlineData(OptimizerKind.Sgd)]
    public void ARestartPrunesTheAdaptersMomentsInTheOptimizer(OptimizerKind kind)
    {
        using var scope = NewDisposeScope();
        var (model, trainable) = TinyWithLora();
        using var _ = model;
        var restarts = ReloraRestarts.Attach(model, 3, LoraInit.Kaiming, Seed, null);
        using var opt = RunSetup.Optimizer(new RunConfig { Optimizer = kind, Lr = 1e-2 }, trainable);
        for (int step = 1; step <= 3; step++) Step(model, opt, LoraTestModels.RandomIds(seed: step));
        var state = (IMomentState)opt;
        // Adam's v (SGD's momentum buffer) keeps exactly its top 1% of the entries that were not 0; Adam's m keeps at
        // most its top 1% (also zeroed where v was pruned).
        Tensor Exact(Moments m) => kind == OptimizerKind.Sgd ? m.First! : m.Second!;
        var before = trainable.ToDictionary(t => t.Name, t => Exact(state.MomentsOf(t.Param)).count_nonzero().item<long>());

        restarts.Restart(3, opt);

        foreach (var (name, p) in trainable)
        {
            var moments = state.MomentsOf(p);
            long n = p.numel();
            Assert.Equal(Math.Min(before[name], MomentPruning.KeptOf(n)), Exact(moments).count_nonzero().item<long>());
            if (kind != OptimizerKind.Sgd) Assert.True(moments.First!.count_nonzero().item<long>() <= MomentPruning.KeptOf(n), name);
        }
    }

    [Fact]
    public void InBf16TheAdaptedWeightsAreKeptInFp32SoASmallMergedUpdateIsNotRoundedAway()
    {
        using var scope = NewDisposeScope();
        var (model, trainable) = TinyWithLora(dtype: ScalarType.BFloat16);
        using var _ = model;
        var restarts = ReloraRestarts.Attach(model, 1, LoraInit.Kaiming, Seed, null);
        var q = model.model.layers[0].self_attn.q_proj;
        Assert.Equal(ScalarType.Float32, q.Weight!.dtype);
        Assert.Equal(ScalarType.BFloat16, model.model.layers[0].self_attn.k_proj.Weight!.dtype); // not adapted: as loaded
        var adapter = (LoraAdapter)q.Adapter!;
        using (no_grad()) adapter.lora_B.weight!.fill_(1e-5); // s·B·A: entries about 1e-5, below bf16's step at the weights' 0.02
        var before = q.Weight!.detach().clone();
        var delta = adapter.DeltaWeight();
        using var opt = RunSetup.Optimizer(new RunConfig { Lr = 1e-3 }, trainable);

        restarts.Restart(1, opt);

        Assert.True(LoraTestModels.Same(delta.add(before), q.Weight!), "the weight is not W + s·B·A in fp32");
        // Of the update, fp32 keeps all but rounding; a bf16 weight would have kept almost none of it.
        static double Lost(Tensor after, Tensor before, Tensor delta) =>
            after.to(ScalarType.Float64).sub(before.to(ScalarType.Float64)).sub(delta).norm().item<double>() / delta.to(ScalarType.Float64).norm().item<double>();
        Assert.True(Lost(q.Weight!, before, delta) < 1e-3, $"fp32 lost {Lost(q.Weight!, before, delta):P1} of the update");
        var bf16 = before.to(ScalarType.BFloat16);
        var merged16 = bf16.to(ScalarType.Float32).add(delta).to(ScalarType.BFloat16);
        Assert.True(Lost(merged16, bf16, delta) > 0.5, $"bf16 lost only {Lost(merged16, bf16, delta):P1} of the update");
    }

    [Fact]
    public void TheJaggedScheduleReWarmsAfterEachRestartAndIsOtherwiseTheCosine()
    {
        const double peak = 1e-3, min = 1e-5;
        // The cosine after 10 warmup steps, written out: min + (peak − min)·½(1 + cos(π (s − 10) / 90)).
        static double Cosine(int s) => s <= 10 ? peak * s / 10 : min + (peak - min) * 0.5 * (1 + Math.Cos(Math.PI * (s - 10) / 90.0));
        var plain = LrSchedule.Create(ScheduleKind.Cosine, peak, 100, 10, null, min);
        var jagged = LrSchedule.Create(ScheduleKind.Cosine, peak, 100, 10, null, min, restartEvery: 20);
        Assert.Equal(5, jagged.RestartWarmup); // ⌈20 / 4⌉
        for (int s = 1; s <= 100; s++)
        {
            Assert.Equal(Cosine(s), plain.At(s), 15);
            int sinceRestart = (s - 1) % 20 + 1;
            double factor = s <= 20 || sinceRestart >= 5 ? 1 : sinceRestart / 5.0;
            Assert.Equal(Cosine(s) * factor, jagged.At(s), 15);
        }
        Assert.Equal(Cosine(21) / 5, jagged.At(21), 15);
        Assert.Equal(Cosine(63) * 3 / 5, jagged.At(63), 15);
        Assert.Equal(Cosine(40), jagged.At(40), 15);

        Assert.Equal(50, LrSchedule.RestartWarmupFor(5000)); // the paper's
        Assert.Equal(50, LrSchedule.RestartWarmupFor(199));
        Assert.Equal(3, LrSchedule.RestartWarmupFor(10));
        Assert.Equal(1, LrSchedule.RestartWarmupFor(4));
        Assert.Equal(1, LrSchedule.RestartWarmupFor(1));
    }

    [Theory]
    [InlineData(TrainMethod.Full, "--relora-every merges LoRA adapters into the base; --method full trains no adapter")]
    [InlineData(TrainMethod.Qlora, "--relora-every merges each adapter into its base weight, which a 4-bit base cannot hold without rounding the update away; use --method lora")]
    [InlineData(TrainMethod.Dpo, "--relora-every applies to --method lora only")]
    [InlineData(TrainMethod.Orpo, "--relora-every applies to --method lora only")]
    public void MethodsThatCannotMergeRefuseIt(TrainMethod method, string message)
    {
        var e = Assert.Throws<UserException>(() => new RunConfig { Method = method, ReloraEvery = 10 }.Validate(inputs: false));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    public void AnIntervalBelowOneIsRefused(string k)
    {
        var c = new RunConfig();
        c.Set("relora_every", k);
        var e = Assert.Throws<UserException>(() => c.Validate(inputs: false));
        Assert.Contains("relora_every", e.Message);
        Assert.Contains("at least 1", e.Message);
    }
}
