using LoraLab.Benchmarks;
using LoraLab.Configuration;
using LoraLab.Estimation;
using LoraLab.Models;
using LoraLab.Training;
using LoraLab.Training.Optimizers;
using static TorchSharp.torch;
using Xunit;
using Xunit.Abstractions;
using Ts = TorchSharp.Modules;

namespace LoraLab.Tests.Training;

/// GaLore's optimizer memory, measured from the optimizer's own state tensors on the `small` config at rank
/// hidden/4 = 128, against AdamW's (what `--method full` builds) and against what `estimate` predicts.
///
/// The issue asks for at most a quarter of AdamW's full-model state. That cannot hold here: a projected weight keeps
/// 2·r·max(out, in) moment values and r·min(out, in) of projection, so even the out ≥ in weights keep r/in = 1/4 of
/// AdamW's moments plus their projection, k_proj and v_proj (256 × 512, out < in) keep half, and `small`'s
/// embedding and output layer (2 × 32000 × 512, 58 % of AdamW's state), which GaLore leaves on AdamW as galore-torch
/// does, dominate. Measured: 311.1 MiB of 430.1 MiB (72.3 %) for the whole model, 61.0 MiB of 180.0 MiB (33.9 %)
/// for the projected weights alone (fp32; the counts do not depend on the machine). The test pins those numbers to the shapes' arithmetic, so the claim can
/// be judged from the report, and fails if the optimizer allocates anything beyond it.
public class GaloreMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void SmallAtRankHiddenOverFourIsMeasuredFromTheOptimizersTensors()
    {
        var cfg = KnownConfigs.Get("small");
        var run = new RunConfig { Device = "cpu", Method = TrainMethod.Galore, Precision = Precision.Fp32, Threads = 2 };
        RunSetup.ResolveGalore(run, cfg);
        Assert.Equal(128, run.GaloreRank);
        using var model = RunSetup.RandomModel(cfg, run);
        var trainable = RunSetup.Trainable(model, null, 1).Parameters;
        var projected = trainable.Where(t => GaloreWeights.IsProjected(t.Name, t.Param.shape)).Select(t => t.Param).ToList();

        // The state is made in full when the optimizer is built; the bench test below measures it after steps too.
        long galore;
        using (var opt = RunSetup.Optimizer(run, trainable)) galore = OptimizerStateBytes.Of(opt);
        long adamw;
        using (var opt = RunSetup.Optimizer(new RunConfig { Method = TrainMethod.Full }, trainable)) adamw = OptimizerStateBytes.Of(opt);
        long galoreProjected, adamwProjected;
        using (var opt = OptimizerFactory.CreateGalore([], projected, 3e-4, 0, 128, 200, 0.25)) galoreProjected = OptimizerStateBytes.Of(opt);
        using (var opt = OptimizerFactory.Create(OptimizerKind.AdamW, projected, 3e-4, 0)) adamwProjected = OptimizerStateBytes.Of(opt);

        double whole = (double)galore / adamw, part = (double)galoreProjected / adamwProjected;
        output.WriteLine($"small, rank 128: GaLore {galore / 1048576.0:F1} MB, AdamW {adamw / 1048576.0:F1} MB ({whole:P1}); " +
                         $"projected weights alone {galoreProjected / 1048576.0:F1} MB of {adamwProjected / 1048576.0:F1} MB ({part:P1})");

        // Measured bytes equal the shapes' arithmetic (fp32) and what `estimate --method galore` counts.
        var shapes = ModelShapes.Expected(cfg).ToList();
        Assert.Equal(4 * GaloreWeights.StateElements(128, shapes), galore);
        Assert.Equal(MemoryEstimator.Estimate(cfg, new MemoryEstimateOptions { Method = "galore" }).OptimizerState, galore);
        Assert.Equal(2 * 4 * ModelShapes.TotalParameters(cfg), adamw);
        Assert.Equal(MemoryEstimator.Estimate(cfg, new MemoryEstimateOptions { Method = "full" }).OptimizerState, adamw);
        // Per layer at r = 128: q, o 512×512 and k, v 256×512 keep 2·128·512 moments; gate, up 1408×512 and down
        // 512×1408 keep 2·128·1408; projections 128·512 (q, o, gate, up, down) and 128·256 (k, v).
        long perLayer = 4 * (2L * 128 * 512) + 3 * (2L * 128 * 1408) + 5 * (128L * 512) + 2 * (128L * 256);
        Assert.Equal(4 * cfg.NumHiddenLayers * perLayer, galoreProjected);
        Assert.InRange(part, 0.33, 0.34);
        Assert.InRange(whole, 0.72, 0.73);
    }

    /// `bench --method galore` runs GaLore's steps (the first one takes the SVDs) and reports the state it measured
    /// after them: the steps add none.
    [Fact]
    public void BenchRunsGaloreAndReportsItsOptimizerState()
    {
        var r = StepBenchmark.Run(new BenchOptions { Config = "tiny", Method = "galore", Batch = 2, Seq = 32, Steps = 1, Warmup = 1, Threads = 1, Precision = "fp32" });
        var cfg = KnownConfigs.Get("tiny");
        Assert.Equal("galore-r16-every200", r.Mode);
        Assert.True(double.IsFinite(r.FinalLoss));
        Assert.Equal(ModelShapes.TotalParameters(cfg), r.Trainable);
        Assert.Equal(MemoryEstimator.Estimate(cfg, new MemoryEstimateOptions { Method = "galore" }).OptimizerState, r.OptimizerStateBytes);
    }
}
