using System.Text.Json;
using LoraLab.Benchmarks;
using LoraLab.Configuration;
using LoraLab.Diagnostics.Profiling;
using LoraLab.Models;
using LoraLab.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Diagnostics;

/// `bench --profile` (issue 22, item 5): the profile accounts for the step's time by category, forward and backward,
/// and its marks change nothing the step computes.
public class StepProfileTests
{
    static BenchResult Bench(bool profile) => StepBenchmark.Run(new BenchOptions
    {
        Config = "tiny", Method = "lora", Targets = "all", Batch = 4, Seq = 128, Steps = 3, Warmup = 1, Threads = 1, Profile = profile,
    });

    [Fact]
    public void TheProfileCoversTheStepByCategoryForwardAndBackward()
    {
        var r = Bench(profile: true);
        var rows = r.Profile!;
        double total = rows.Sum(p => p.MsPerStep);
        double meanStepMs = r.ProfiledStepSeconds!.Average() * 1000;
        // The rows share the step out: they sum to 1 and to no more than the profiled steps' mean time.
        Assert.Equal(1.0, rows.Sum(p => p.Share), 6);
        Assert.True(total <= meanStepMs * (1 + 1e-9), $"rows sum to {total:F2} ms, profiled step {meanStepMs:F2} ms");
        double attributed = rows.Where(p => p.Op != ProfiledOp.Other).Sum(p => p.Share);
        Assert.True(attributed >= 0.8, $"only {attributed:P1} of the step attributed:\n{string.Join('\n', rows)}");
        foreach (var (op, phase) in new[]
        {
            (ProfiledOp.BaseMatmul, StepPhase.Forward), (ProfiledOp.BaseMatmul, StepPhase.Backward),
            (ProfiledOp.AdapterMatmul, StepPhase.Forward), (ProfiledOp.AdapterMatmul, StepPhase.Backward),
            (ProfiledOp.Attention, StepPhase.Backward), (ProfiledOp.Norm, StepPhase.Backward), (ProfiledOp.HeadLoss, StepPhase.Forward),
            (ProfiledOp.Optimizer, StepPhase.Step),
        })
            Assert.Contains(rows, p => p.Op == op && p.Phase == phase && p.MsPerStep > 0);
    }

    [Fact]
    public void WithoutTheFlagThereIsNoProfile()
    {
        var r = Bench(profile: false);
        Assert.Null(r.Profile);
        Assert.Null(r.ProfiledStepSeconds);
    }

    [Fact]
    public void ProfilingNeedsOneStreamOnTheCpu()
    {
        var e = Assert.Throws<UserException>(() => new BenchOptions { Method = "lora", Profile = true, Streams = 2 }.Validate());
        Assert.Contains("--profile", e.Message);
    }

    /// The identity marks hand every gradient on untouched: the loss and each trainable tensor's gradient of a marked
    /// forward and backward equal an unmarked one's bit for bit (LoRA in fp32 and in bf16, where the adapters' casts
    /// are marked too, and full fine-tuning).
    [Theory]
    [InlineData("lora", Precision.Fp32)]
    [InlineData("lora", Precision.Bf16)]
    [InlineData("full", Precision.Fp32)]
    public void MarksLeaveLossAndGradientsBitIdentical(string method, Precision precision)
    {
        var (plainLoss, plainGrads) = LossAndGradients(method, precision, profile: false);
        var (markedLoss, markedGrads) = LossAndGradients(method, precision, profile: true);
        Assert.Equal(BitConverter.SingleToInt32Bits(plainLoss), BitConverter.SingleToInt32Bits(markedLoss));
        Assert.Equal(plainGrads.Keys, markedGrads.Keys);
        foreach (var (name, g) in plainGrads)
            Assert.True(g.SequenceEqual(markedGrads[name]), $"{name}: gradients differ");
    }

    static (float Loss, Dictionary<string, float[]> Grads) LossAndGradients(string method, Precision precision, bool profile)
    {
        using var scope = NewDisposeScope();
        var cfg = KnownConfigs.Resolve("tiny");
        var run = new BenchOptions { Config = "tiny", Method = method, R = 4, Precision = precision == Precision.Bf16 ? "bf16" : "fp32" }.ToRunConfig();
        using var model = RunSetup.RandomModel(cfg, run);
        var trainable = RunSetup.Trainable(model, RunSetup.Lora(run, null), run.Seed).Parameters;
        model.train();
        var gen = new Generator(7);
        var ids = randint(0, cfg.VocabSize, new long[] { 2, 16 }, dtype: ScalarType.Int64, generator: gen);
        var recorder = new StepRecorder();
        recorder.BeginStep();
        float loss;
        using (profile ? OpProfile.Record(recorder) : default)
        {
            var sum = Losses.NextTokenSum(model, ids, ids);
            using (OpProfile.Backward()) sum.backward();
            loss = sum.item<float>();
        }
        recorder.EndStep();
        if (profile) Assert.Contains(recorder.Rows(), p => p.Phase == StepPhase.Backward && p.Op != ProfiledOp.Other);
        var grads = trainable.ToDictionary(t => t.Name, t => t.Param.grad!.to(ScalarType.Float32).data<float>().ToArray());
        return (loss, grads);
    }
}

/// The flag on the command line: the table and the JSON array appear with --profile only.
[Collection("cli")]
public class BenchProfileCliTests
{
    static readonly string[] Tiny = ["bench", "--arch", "tiny", "--method", "lora", "--batch-size", "2", "--max-seq-length", "16", "--max-steps", "2", "--warmup", "0", "--threads", "1"];

    [Fact]
    public void JsonHasAProfileArrayOnlyWithTheFlag()
    {
        var (code, stdout, err) = CliRunner.Run([.. Tiny, "--json", "--profile"]);
        Assert.True(code == 0, err);
        var json = JsonDocument.Parse(stdout).RootElement;
        var rows = json.GetProperty("profile").EnumerateArray().ToList();
        Assert.Contains(rows, p => p.GetProperty("op").GetString() == "matmul (base)" && p.GetProperty("phase").GetString() == "backward");
        Assert.All(rows, p => Assert.True(p.GetProperty("ms_per_step").GetDouble() >= 0 && p.GetProperty("share").GetDouble() is >= 0 and <= 1));
        Assert.True(json.GetProperty("profile_step_s").GetDouble() > 0);

        (code, stdout, err) = CliRunner.Run([.. Tiny, "--json"]);
        Assert.True(code == 0, err);
        json = JsonDocument.Parse(stdout).RootElement;
        Assert.False(json.TryGetProperty("profile", out _));
        Assert.False(json.TryGetProperty("profile_step_s", out _));
    }

    [Fact]
    public void TheTableAppearsOnlyWithTheFlag()
    {
        var (code, stdout, err) = CliRunner.Run([.. Tiny, "--profile"]);
        Assert.True(code == 0, err);
        Assert.Contains("Where the step's time goes", stdout);
        Assert.Contains("attributed by region boundaries", stdout);
        (code, stdout, err) = CliRunner.Run(Tiny);
        Assert.True(code == 0, err);
        Assert.DoesNotContain("Where the step's time goes", stdout);
        Assert.DoesNotContain("profiled step", err);
    }
}
