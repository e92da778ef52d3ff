using LoraLab.Adapters;
using LoraLab.Data;
using LoraLab.Models;
using LoraLab.Training;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace LoraLab.Tests.Training;

/// A step whose micro-batches are split over single-threaded streams computes the same loss and gradients as the
/// plain step, and repeats bit for bit.
public class StepStreamsTests
{
    internal static CausalLM LoraModel(double dropout = 0)
    {
        var model = new CausalLM(KnownConfigs.Get("tiny"), ScalarType.Float32, CPU);
        model.InitializeRandom(7);
        LoraInjector.Apply(model, new LoraConfig { R = 4, Alpha = 8, Dropout = dropout, TargetModules = LoraTargets.Parse("all") }, 7);
        var gen = new torch.Generator(11);
        using (no_grad())
            foreach (var a in LoraInjector.Adapters(model)) a.lora_B.weight!.normal_(0, 0.02, gen); // every A gets a gradient
        model.train();
        return model;
    }

    /// Two micro-batches of 3 rows (split 1 + 2 over two streams), one with ignored labels and packed documents.
    internal static List<Batch> Window(long vocab)
    {
        var gen = new torch.Generator(3);
        var batches = new List<Batch>();
        for (int k = 0; k < 2; k++)
        {
            var ids = randint(0, vocab, new long[] { 3, 13 }, generator: gen);
            var labels = ids.clone();
            Tensor? docs = null;
            if (k == 1)
            {
                labels.narrow(1, 0, 4).fill_(Losses.Ignore);
                docs = cat(new[] { zeros(3, 6, dtype: ScalarType.Int64), ones(3, 7, dtype: ScalarType.Int64) }, 1);
            }
            var positions = arange(13, dtype: ScalarType.Int64).unsqueeze(0).expand(3, 13);
            int targets = (int)Losses.TargetCount(labels);
            batches.Add(new Batch(ids, labels, positions, docs, targets, 3 * 13));
        }
        return batches;
    }

    static (double Loss, Tensor[] Grads) Step(CausalLM model, List<Batch> window, int streams)
    {
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        foreach (var p in trainable) p.grad = null;
        using var opt = new LoraLab.Training.Optimizers.SGD(trainable, 0.0, 0, 0, 0, false);
        using var step = new TrainingStep(model, trainable, maxGradNorm: 0, streams: streams);
        Tensor[] grads = Array.Empty<Tensor>();
        var (loss, _, _) = step.Run(opt, window, () => grads = trainable.Select(p => p.grad!.detach().clone().DetachFromDisposeScope()).ToArray());
        return (loss, grads);
    }

    [Fact]
    public void StreamsMatchThePlainStepAndRepeat()
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var model = LoraModel();
        var window = Window(model.Config.VocabSize);
        var plain = Step(model, window, 1);
        var a = Step(model, window, 2);
        var b = Step(model, window, 2);
        Assert.Equal(plain.Loss, a.Loss, 5);
        Assert.Equal(a.Loss, b.Loss);
        Assert.Equal(plain.Grads.Length, a.Grads.Length);
        for (int i = 0; i < plain.Grads.Length; i++)
        {
            Assert.True(plain.Grads[i].allclose(a.Grads[i], rtol: 1e-4, atol: 1e-7), $"gradient {i} differs from the plain step");
            Assert.True(a.Grads[i].eq(b.Grads[i]).all().item<bool>(), $"gradient {i} differs between two runs with streams");
        }
        foreach (var g in plain.Grads.Concat(a.Grads).Concat(b.Grads)) g.Dispose();
    }

    /// Two fused-AdamW steps with clipping: the weights after them equal the plain step's. (Gradients handed over in
    /// another memory layout than their parameter's would pass the gradient test above but not this one: the fused
    /// kernel walks the parameter and its gradient buffer in step.)
    [Fact]
    public void UpdatesMatchThePlainStep()
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        Tensor[] Train(int streams)
        {
            using var model = LoraModel();
            var window = Window(model.Config.VocabSize);
            var trainable = model.parameters().Where(p => p.requires_grad).ToList();
            using var opt = new LoraLab.Training.Optimizers.AdamW(trainable, 1e-2, 0.9, 0.999, 1e-8, 0.01);
            using var step = new TrainingStep(model, trainable, maxGradNorm: 0.5, streams: streams);
            for (int i = 0; i < 2; i++) step.Run(opt, window);
            return trainable.Select(p => p.detach().clone().DetachFromDisposeScope()).ToArray();
        }
        var plain = Train(1);
        var split = Train(2);
        for (int i = 0; i < plain.Length; i++)
            Assert.True(plain[i].allclose(split[i], rtol: 1e-4, atol: 1e-6), $"parameter {i} differs after two steps: max {plain[i].sub(split[i]).abs().max().item<float>():E2} of {plain[i].abs().max().item<float>():E2}");
        foreach (var t in plain.Concat(split)) t.Dispose();
    }

    /// Every row goes to exactly one slice, in order, and slices differ by at most one row.
    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    [InlineData(7, 3)]
    [InlineData(4, 4)]
    public void SlicesCoverEveryRowOnce(long rows, int parts)
    {
        long next = 0;
        var sizes = new List<long>();
        for (int i = 0; i < parts; i++)
        {
            var (start, length) = StreamSlices.RowRange(rows, i, parts);
            Assert.Equal(next, start);
            next = start + length;
            sizes.Add(length);
        }
        Assert.Equal(rows, next);
        Assert.True(sizes.Max() - sizes.Min() <= 1, string.Join(",", sizes));
        Assert.True(sizes.Min() >= 1);
    }

    [Fact]
    public void StreamsAreRefusedWhereTheyWouldBeWrong()
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using (var full = new CausalLM(KnownConfigs.Get("tiny"), ScalarType.Float32, CPU))
        {
            foreach (var p in full.parameters()) p.requires_grad = true;
            var e = Assert.Throws<UserException>(() => new TrainingStep(full, full.parameters().ToList(), 1.0, streams: 2));
            Assert.Contains("embedding or output layer", e.Message);
        }
        using var dropped = LoraModel(dropout: 0.1);
        var trainable = dropped.parameters().Where(p => p.requires_grad).ToList();
        var d = Assert.Throws<UserException>(() => new TrainingStep(dropped, trainable, 1.0, streams: 2));
        Assert.Contains("dropout", d.Message);
        Assert.Throws<UserException>(() => new TrainingStep(dropped, trainable, 1.0, streams: 0));
    }

    /// `train` and `bench` refuse from their settings alone, before reading data or loading a model, with the
    /// step's own words.
    [Fact]
    public void SettingsAloneAreRefusedTheSameWay()
    {
        Assert.Contains("embedding or output layer", Assert.Throws<UserException>(() => TrainingStep.CheckStreams(2, "full", 0)).Message);
        Assert.Contains("dropout", Assert.Throws<UserException>(() => TrainingStep.CheckStreams(2, "lora", 0.05)).Message);
        Assert.Contains("dropout", Assert.Throws<UserException>(() => TrainingStep.CheckStreams(3, "qlora", 0.1)).Message);
        TrainingStep.CheckStreams(2, "lora", 0);
        TrainingStep.CheckStreams(2, "qlora", 0);
        TrainingStep.CheckStreams(1, "full", 0.1);
        var (rc, _, err) = CliRunner.RunProcess("train", "--model", "/nonexistent-model", "--data", "/nonexistent.jsonl", "--out",
            Path.Combine(TempDir.New("streams"), "run"), "--streams", "2");
        Assert.Equal(2, rc);
        Assert.Contains("--streams 2: the model has dropout", err);
        Assert.Single(err.Trim().Split('\n'));
        (rc, _, err) = CliRunner.RunProcess("bench", "--arch", "tiny", "--method", "full", "--streams", "2");
        Assert.Equal(2, rc);
        Assert.Contains("--streams 2: the embedding or output layer", err);
    }
}
