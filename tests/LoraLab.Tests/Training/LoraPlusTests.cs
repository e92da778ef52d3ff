using LoraLab.Configuration;
using LoraLab.Models;
using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.Training;

/// LoRA+ (`--loraplus-lr-ratio R`): lora_B learns at R × lora_A's rate, through the whole schedule, as PEFT's
/// create_loraplus_optimizer groups the weights; without it there is one group.
public class LoraPlusTests
{
    static IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Param)> Adapters(CausalLM model) =>
        RunSetup.Trainable(model, RunSetup.Lora(new RunConfig { Targets = "qv" }, null), 1).Parameters;

    [Theory]
    [InlineData(OptimizerKind.AdamW)]
    [InlineData(OptimizerKind.Sgd)]
    public void TheBGroupLearnsAtTheRatioTimesTheRateThroughTheSchedule(OptimizerKind kind)
    {
        using var model = RunSetup.RandomModel(KnownConfigs.Get("tiny"), new RunConfig { Device = "cpu" });
        var trainable = Adapters(model);
        using var opt = RunSetup.Optimizer(new RunConfig { Optimizer = kind, Lr = 2e-4, LoraplusLrRatio = 16 }, trainable);
        var groups = opt.ParamGroups.Cast<TorchSharp.Modules.ParamGroup>().ToList();
        Assert.Equal(2, groups.Count);
        Assert.Equal(2e-4, groups[0].LearningRate, 12);
        Assert.Equal(16 * 2e-4, groups[1].LearningRate, 12);
        var bNames = trainable.Where(t => t.Name.Contains("lora_B")).Select(t => t.Param).ToHashSet();
        Assert.Equal(bNames.Count, groups[1].Parameters.Count());
        Assert.All(groups[1].Parameters, p => Assert.Contains(p, bNames));
        Assert.DoesNotContain(groups[0].Parameters, p => bNames.Contains(p));

        OptimizerFactory.SetLearningRate(opt, 5e-5); // a point of the warmup or decay
        Assert.Equal(5e-5, groups[0].LearningRate, 12);
        Assert.Equal(16 * 5e-5, groups[1].LearningRate, 12);
    }

    [Fact]
    public void WithoutItThereIsOneGroup()
    {
        using var model = RunSetup.RandomModel(KnownConfigs.Get("tiny"), new RunConfig { Device = "cpu" });
        using var opt = RunSetup.Optimizer(new RunConfig { Lr = 2e-4 }, Adapters(model));
        Assert.Single(opt.ParamGroups);
    }

    [Fact]
    public void FullFineTuningRefusesIt()
    {
        var e = Assert.Throws<UserException>(() => new RunConfig { Method = TrainMethod.Full, LoraplusLrRatio = 16 }.Validate(inputs: false));
        Assert.Contains("--loraplus-lr-ratio sets lora_B's learning rate; --method full trains no adapter", e.Message);
    }
}
