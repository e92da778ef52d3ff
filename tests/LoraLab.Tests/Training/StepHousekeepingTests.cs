using LoraLab.Runtime;
using LoraLab.Training;
using static TorchSharp.torch;
using Xunit;

namespace LoraLab.Tests.Training;

/// The training step calls its housekeeping at the two points it is for: once per micro-batch between forward and
/// backward (with streams: once for all slices, after every slice's forward), and once after the update.
public class StepHousekeepingTests
{
    sealed class Recorder(IReadOnlyList<TorchSharp.Modules.Parameter> trainable) : StepHousekeeping
    {
        public readonly List<string> Calls = new();

        // Whether any trainable parameter holds a gradient when the hook runs: none before the first backward,
        // none after the step (they are dropped), some before the second micro-batch's backward.
        string Grads() => trainable.Any(p => p.grad is not null) ? "grads" : "none";

        public override void BeforeBackward() { Calls.Add("backward:" + Grads()); base.BeforeBackward(); }
        public override void AfterStep() { Calls.Add("step:" + Grads()); base.AfterStep(); }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void TheStepCallsItsHousekeepingBeforeEachBackwardAndAfterTheUpdate(int streams)
    {
        TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var model = StepStreamsTests.LoraModel();
        var window = StepStreamsTests.Window(model.Config.VocabSize);
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        using var opt = new LoraLab.Training.Optimizers.SGD(trainable, 0.01, 0, 0, 0, false);
        var recorder = new Recorder(trainable);
        using var step = new TrainingStep(model, trainable, maxGradNorm: 1.0, streams: streams, housekeeping: recorder);
        step.Run(opt, window);
        step.Run(opt, window);
        string[] one = ["backward:none", "backward:grads", "step:none"];
        Assert.Equal(one.Concat(one), recorder.Calls);
    }
}
