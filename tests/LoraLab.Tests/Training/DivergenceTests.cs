using LoraLab.Data;
using LoraLab.Models;
using LoraLab.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using DataLoader = LoraLab.Data.DataLoader;

namespace LoraLab.Tests.Training;

/// A non-finite loss says what is to blame: weights that were already NaN/Inf (a corrupt input, named), or an
/// update that overflowed from finite weights (the learning rate).
public class DivergenceTests
{
    static string Diverge(double lr, string? poisoned)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var model = new CausalLM(KnownConfigs.Get("tiny"), ScalarType.Float32, CPU);
        model.InitializeRandom(3);
        var trainable = model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        foreach (var (_, p) in trainable) p.requires_grad = true;
        if (poisoned is not null)
            using (no_grad()) trainable.Single(t => t.name == poisoned).parameter.view(-1)[0].fill_(float.NaN);
        var rng = new Random(1);
        var examples = Enumerable.Range(0, 8).Select(_ =>
        {
            var ids = Enumerable.Range(0, 12).Select(_ => rng.Next(3, 200)).ToArray();
            return new TokenizedExample(ids, ids);
        }).ToList();
        var options = new LoraLab.Configuration.RunConfig { Lr = lr, BatchSize = 2, MicroBatchSize = 2, MaxSteps = 4, Schedule = LoraLab.Configuration.ScheduleKind.Constant };
        var outDir = TempDir.New("diverge");
        var trainer = new Trainer(model, trainable, options, new DataLoader(examples, new Batcher(0), 2, 1), null, outDir, new FullModelWeights(model));
        return Assert.Throws<TrainingDivergedException>(() => trainer.Run(null, CancellationToken.None)).Message;
    }

    [Fact]
    public void NonFiniteWeightsBeforeTheStepAreNamedNotBlamedOnTheLearningRate()
    {
        var message = Diverge(1e-3, "model.layers.0.mlp.down_proj.weight");
        Assert.Contains("'model.layers.0.mlp.down_proj.weight'", message);
        Assert.Contains("already non-finite", message);
        Assert.DoesNotContain("lower --lr", message);
    }

    [Fact]
    public void ALossThatOverflowsFromFiniteWeightsBlamesTheLearningRate()
    {
        var message = Diverge(1e38, null);
        Assert.Contains("from finite weights", message);
        Assert.Contains("lower --lr", message);
    }
}
