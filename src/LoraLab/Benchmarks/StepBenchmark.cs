using System.Diagnostics;
using LoraLab.Adapters;
using LoraLab.Adapters.Quantization;
using LoraLab.Configuration;
using LoraLab.Data;
using LoraLab.Models;
using LoraLab.Runtime;
using LoraLab.Training;
using TorchSharp;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace LoraLab.Benchmarks;

/// `loralab bench`: a randomly initialised model of a given architecture trained on random tokens (no data loading)
/// with the Trainer's own step (<see cref="TrainingStep"/>): forward, loss, backward, clipping, AdamW.
public static class StepBenchmark
{
    public static BenchResult Run(BenchOptions o, Action<string>? progress = null)
    {
        o.Validate();
        var cfg = KnownConfigs.Resolve(o.Config);
        var device = Devices.Resolve(o.Device);
        TorchRuntime.SetThreads(o.Threads);
        int threads = get_num_threads();
        var run = o.ToRunConfig();
        RunSetup.ResolveGalore(run, cfg);
        var precision = RunSetup.Precision(run, device, ProbeShape.Of(cfg));
        progress?.Invoke($"precision {precision}");
        progress?.Invoke($"measuring the fp32 and bf16 matrix-product peaks ({threads} threads)");
        var peaks = Peaks(device);

        progress?.Invoke($"building {o.Config} ({o.Method})");
        using var model = RunSetup.RandomModel(cfg, run);
        var trainableWeights = RunSetup.Trainable(model, RunSetup.Lora(run, null), run.Seed);
        var sites = trainableWeights.Summary?.Sites;
        model.GradientCheckpointing = o.GradCheckpointing;
        model.train();
        var trainable = trainableWeights.Parameters.Select(t => t.Param).ToList();
        long trainableCount = trainableWeights.Count;
        long total = ModelShapes.TotalParameters(cfg) + (sites?.Sum(s => s.Parameters) ?? 0);
        var layerProjections = model.Projections().Where(p => p.Layer >= 0).Select(p => p.Projection).ToList();
        long frozenBytes = layerProjections.Sum(p => p.Quantized?.StorageBytes ?? p.Weight!.numel() * p.Weight!.element_size());
        long frozenBf16 = layerProjections.Sum(p => p.InFeatures * p.OutFeatures * 2);

        using var opt = RunSetup.Optimizer(run, trainableWeights.Parameters);
        using var keptBuffers = KeptBuffers.Scope();
        using var step = new TrainingStep(model, trainable, run.MaxGradNorm, streams: run.Streams);
        long setupRss = ProcessMemory.Rss();
        var gen = new torch.Generator((ulong)(o.Seed + 1), device);
        var times = new List<double>();
        var trace = new List<(int, long)>();
        double loss = double.NaN;
        progress?.Invoke($"{o.Warmup} warm-up + {o.Steps} timed steps of {o.Batch}x{o.Seq} tokens");
        for (int i = 0; i < o.Warmup + o.Steps; i++)
        {
            using var batch = RandomBatch(cfg.VocabSize, o.Batch, o.Seq, PromptPositions(o), device, gen);
            var sw = Stopwatch.StartNew();
            (loss, _, _) = step.Run(opt, new[] { batch });
            double secs = sw.Elapsed.TotalSeconds;
            if (i >= o.Warmup) times.Add(secs);
            int n = i + 1;
            if (o.MemoryAt.Contains(n)) trace.Add((n, ProcessMemory.Peak()));
            progress?.Invoke($"step {n}: {secs:F3} s, loss {loss:F4}{(i < o.Warmup ? " (warm-up)" : "")}");
        }

        long peakRss = ProcessMemory.Peak();
        long optimizerBytes = Training.Optimizers.OptimizerStateBytes.Of(opt); // after the steps: SGD makes its buffers at the first
        var profile = o.Profile ? Profile(o, step, opt, cfg.VocabSize, device, gen, progress) : null;
        // Measured again after the steps, and the higher rate kept: on a shared host a single short measurement can
        // fall into a slow moment, and MFU against it read near or above 100 % (BENCHMARKS.md, "2026-11-29 from 12:47").
        progress?.Invoke("measuring the matrix-product peaks again");
        var again = Peaks(device);
        peaks = (Math.Max(peaks.Fp32, again.Fp32), Math.Max(peaks.Bf16, again.Bf16));

        var sorted = times.Order().ToArray();
        double median = Median(times);
        // GaLore's step is full fine-tuning's forward and backward; its SVDs (every --galore-update-every steps) are not counted.
        double flops = StepFlops.Compute(cfg, run.Method.TrainsEveryWeight(), sites, o.Batch, o.Seq,
            headRows: (long)o.Batch * (o.Seq - 1 - PromptPositions(o))).Total;
        string mode = run.Method switch
        {
            TrainMethod.Full => "full",
            TrainMethod.Galore => $"galore-r{run.GaloreRank}-every{run.GaloreUpdateEvery}",
            _ => $"{o.Method}{(o.Dora ? "-dora" : "")}-{o.Targets}-r{o.R}",
        };
        return new BenchResult
        {
            Config = o.Config, Mode = mode, Batch = o.Batch, Seq = o.Seq, Steps = o.Steps, Threads = threads, Streams = o.Streams, PromptFraction = o.PromptFraction,
            Device = device.ToString(), Precision = precision.Name, PrecisionReason = precision.Reason, GradCheckpointing = o.GradCheckpointing,
            Parameters = total, Trainable = trainableCount, FrozenWeightBytes = frozenBytes, FrozenWeightBf16Bytes = frozenBf16,
            MedianStepSeconds = median, MinStepSeconds = sorted[0], TokensPerSecond = o.Batch * o.Seq / median,
            StepFlops = flops, AchievedGFlops = flops / median / 1e9,
            PeakGFlops = precision.Dtype == ScalarType.BFloat16 ? peaks.Bf16 : peaks.Fp32, PeakFp32GFlops = peaks.Fp32, PeakBf16GFlops = peaks.Bf16,
            PeakRssBytes = peakRss, SetupRssBytes = setupRss, OptimizerStateBytes = optimizerBytes, FinalLoss = loss,
            StepSeconds = times, MemoryTrace = trace,
            Profile = profile?.Rows(), ProfiledStepSeconds = profile?.StepSeconds,
        };
    }

    /// The fp32 and bf16 matrix-product rates: MFU is taken against the one the step multiplies in.
    static (double Fp32, double Bf16) Peaks(Device device) =>
        (MatmulPeak.GFlops(device, ScalarType.Float32), MatmulPeak.GFlops(device, ScalarType.BFloat16));

    public static double Median(IReadOnlyList<double> times)
    {
        var sorted = times.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// As many steps again as were timed, each region marked (OpProfile); after the timed steps and the peak memory
    /// read, so neither sees the marks.
    static Diagnostics.Profiling.StepRecorder Profile(BenchOptions o, TrainingStep step, optim.Optimizer opt, long vocab, Device device,
        torch.Generator gen, Action<string>? progress)
    {
        var recorder = new Diagnostics.Profiling.StepRecorder();
        for (int i = 0; i < o.Steps; i++)
        {
            using var batch = RandomBatch(vocab, o.Batch, o.Seq, PromptPositions(o), device, gen);
            recorder.BeginStep();
            using (Diagnostics.Profiling.OpProfile.Record(recorder)) step.Run(opt, new[] { batch });
            recorder.EndStep();
            progress?.Invoke($"profiled step {i + 1}: {recorder.StepSeconds[^1]:F3} s");
        }
        return recorder;
    }

    /// Positions per row whose prediction is masked as prompt: --prompt-fraction of the T − 1 predictions.
    static int PromptPositions(BenchOptions o) => (int)Math.Round(o.PromptFraction * (o.Seq - 1));

    /// Uniform random token ids as a batch whose labels are the inputs: next-token prediction on every position after
    /// the first `prompt` ones of each row.
    static Batch RandomBatch(long vocab, int b, int t, int prompt, Device device, torch.Generator gen)
    {
        var ids = randint(0, vocab, new long[] { b, t }, dtype: ScalarType.Int64, device: device, generator: gen);
        var positions = arange(t, dtype: ScalarType.Int64, device: device).unsqueeze(0).expand(b, t);
        var labels = prompt > 0 ? ids.clone() : ids.alias();
        if (prompt > 0) labels.narrow(1, 0, prompt + 1).fill_(Training.Losses.Ignore); // label 0 is never predicted
        return new Batch(ids, labels, positions, null, targetTokens: b * (t - 1 - prompt), tokens: b * t);
    }
}
