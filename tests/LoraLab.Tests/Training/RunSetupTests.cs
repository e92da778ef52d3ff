using LoraLab.Adapters;
using LoraLab.Configuration;
using LoraLab.Data;
using LoraLab.Models;
using LoraLab.Tests.Adapters;
using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.Training;

/// Each setup step alone, as train, demo, pretrain and bench use it.
public class RunSetupTests
{
    static readonly string Instructions = RepoFixtures.Path_("instructions", "data.json");

    [Fact]
    public void LoadDataReadsTrainingAndValidationFilesWithTheConfigsLimits()
    {
        var records = RunSetup.LoadData(new RunConfig { Data = Instructions, ValData = Instructions });
        Assert.Equal(48, records.Train.Count);
        Assert.Equal(48, records.Validation!.Count);
        Assert.Null(RunSetup.LoadData(new RunConfig { Data = Instructions }).Validation);
        var e = Assert.Throws<UserException>(() => RunSetup.LoadData(new RunConfig { Data = Instructions, MaxRecordBytes = 10 }));
        Assert.Contains("--max-record-bytes 10", e.Message);
    }

    [Fact]
    public void LoraFollowsTheMethodAndTheLoraSettings()
    {
        Assert.Null(RunSetup.Lora(new RunConfig { Method = TrainMethod.Full }, null));
        var lora = RunSetup.Lora(new RunConfig { R = 4, Alpha = 8, LoraDropout = 0.1, Targets = "qv", UseRslora = true }, "/m/base")!;
        Assert.Equal((4, 8.0, 0.1, true, "/m/base"), (lora.R, lora.Alpha, lora.Dropout, lora.UseRslora, lora.BaseModelNameOrPath));
        Assert.Equal(LoraTargets.Presets["qv"], lora.TargetModules);
    }

    [Fact]
    public void TrainableIsTheAdaptersOrEveryWeight()
    {
        using (var model = LoraTestModels.RandomTiny())
        {
            var lora = RunSetup.Trainable(model, RunSetup.Lora(new RunConfig { R = 2, Targets = "qv" }, null), 1);
            Assert.NotEmpty(lora.Parameters);
            Assert.All(lora.Parameters, p => Assert.Contains("lora_", p.Name));
            Assert.Equal(2 * KnownConfigs.Get("tiny").NumHiddenLayers * 2, lora.Parameters.Count); // A and B of q and v per layer
            Assert.All(model.named_parameters().Where(p => !p.name.Contains("lora_")), p => Assert.False(p.parameter.requires_grad));
            Assert.NotNull(lora.Summary);
        }
        using (var model = LoraTestModels.RandomTiny())
        {
            var all = RunSetup.Trainable(model, null, 1);
            Assert.Equal(model.parameters().Count(), all.Parameters.Count);
            Assert.Equal(model.parameters().Sum(p => p.numel()), all.Count);
            Assert.Null(all.Summary);
        }
    }

    [Fact]
    public void LoadersBatchByTheMicroBatchAndShuffleOnlyTraining()
    {
        var examples = Enumerable.Range(0, 10).Select(i => new TokenizedExample([1, 2 + i, 3], [-100, 2 + i, 3])).ToList();
        var c = new RunConfig { MicroBatchSize = 4, Seed = 5 };
        var (train, val) = RunSetup.Loaders(examples, examples, new Batcher(0), c);
        Assert.Equal((3, true, 5), (train.BatchesPerEpoch, train.Shuffle, train.Seed));
        Assert.False(val!.Shuffle);
        Assert.Null(RunSetup.Loaders(examples, [], new Batcher(0), c).Validation);
    }

    [Fact]
    public void RandomModelQuantizesForQloraAndOptimizerFollowsTheKind()
    {
        var cfg = KnownConfigs.Get("tiny");
        using (var dense = RunSetup.RandomModel(cfg, new RunConfig { Device = "cpu" }))
            Assert.All(dense.Projections().Where(p => p.Layer >= 0), p => Assert.Null(p.Projection.Quantized));
        using var packed = RunSetup.RandomModel(cfg, new RunConfig { Device = "cpu", Method = TrainMethod.Qlora });
        Assert.All(packed.Projections().Where(p => p.Layer >= 0), p => Assert.NotNull(p.Projection.Quantized));
        var trainable = RunSetup.Trainable(packed, RunSetup.Lora(new RunConfig { Targets = "qv" }, null), 1).Parameters;
        using var sgd = RunSetup.Optimizer(new RunConfig { Optimizer = OptimizerKind.Sgd, Lr = 0.1 }, trainable);
        Assert.IsType<LoraLab.Training.Optimizers.SGD>(sgd);
        Assert.Equal(0.1, sgd.ParamGroups.First().LearningRate);
    }
}
