using LoraLab.Configuration;
using LoraLab.Models;
using LoraLab.Training;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Training;

/// Full fine-tuning in bf16: every weight is an fp32 master weight, the forward pass computes in bf16, and an update
/// far below bf16's resolution is kept (bf16 weights would round it away).
public class FullMasterWeightsTests
{
    [Fact]
    public void WeightsStayFp32ActivationsAreBf16AndSmallUpdatesAreKept()
    {
        var run = new RunConfig { Method = TrainMethod.Full, Precision = Precision.Bf16, Seed = 5 };
        using var model = RunSetup.RandomModel(KnownConfigs.Resolve("tiny"), run);
        Assert.Equal(ScalarType.BFloat16, model.Dtype);
        Assert.Equal(ScalarType.Float32, model.WeightDtype);
        var parameters = RunSetup.Trainable(model, null, run.Seed).Parameters.Select(t => t.Param).ToList();
        model.train();
        Assert.All(parameters, p => Assert.Equal(ScalarType.Float32, p.dtype));

        using var ids = randint(0, model.Config.VocabSize, new long[] { 2, 16 }, generator: new TorchSharp.torch.Generator(6));
        using (var hidden = model.Hidden(ids)) Assert.Equal(ScalarType.BFloat16, hidden.dtype);

        var before = parameters.Select(p => p.detach().clone()).ToList();
        using var loss = Losses.NextTokenSum(model, ids, ids);
        loss.backward();
        Assert.All(parameters, p => Assert.Equal(ScalarType.Float32, p.grad!.dtype));
        // A step of at most 1e-6 per element: bf16 resolves about 1/256 of a weight of the init's 0.02 scale.
        using (no_grad())
            foreach (var p in parameters)
                using (var g = p.grad!.sign()) p.sub_(g.mul_(1e-6));
        var q = model.model.layers[0].self_attn.q_proj.Weight!;
        int i = parameters.FindIndex(p => ReferenceEquals(p, q));
        using var moved = q.sub(before[i]).abs();
        Assert.True(moved.max().item<float>() > 5e-7f, "the fp32 master weight kept the small update");
        using var asBf16 = q.to(ScalarType.BFloat16).to(ScalarType.Float32);
        using var beforeBf16 = before[i].to(ScalarType.BFloat16).to(ScalarType.Float32);
        using var same = asBf16.eq(beforeBf16).to(ScalarType.Float32).mean();
        Assert.True(same.item<float>() > 0.9f, "the update is below bf16's resolution for most weights");
        foreach (var t in before) t.Dispose();
    }

    /// Activation checkpointing recomputes each layer in backward; CastLinear writes the weights' fp32 gradients into
    /// .grad itself, so each must still be counted once: the gradients equal those of the run without checkpointing.
    [Fact]
    public void CheckpointingGivesTheSameFp32Gradients()
    {
        var run = new RunConfig { Method = TrainMethod.Full, Precision = Precision.Bf16, Seed = 7 };
        var grads = new List<List<Tensor>>();
        foreach (bool checkpointing in new[] { false, true })
        {
            using var model = RunSetup.RandomModel(KnownConfigs.Resolve("tiny"), run);
            var parameters = RunSetup.Trainable(model, null, run.Seed).Parameters.Select(t => t.Param).ToList();
            model.train();
            model.GradientCheckpointing = checkpointing;
            using var ids = randint(0, model.Config.VocabSize, new long[] { 2, 16 }, generator: new TorchSharp.torch.Generator(8));
            using (var loss = Losses.NextTokenSum(model, ids, ids)) loss.backward();
            grads.Add(parameters.Select(p => p.grad!.clone()).ToList());
        }
        Assert.Equal(grads[0].Count, grads[1].Count);
        for (int i = 0; i < grads[0].Count; i++)
        {
            Assert.Equal(ScalarType.Float32, grads[1][i].dtype);
            Assert.True(grads[1][i].allclose(grads[0][i], rtol: 1e-5, atol: 1e-7), $"parameter {i}: checkpointed gradient differs");
        }
        foreach (var t in grads.SelectMany(g => g)) t.Dispose();
    }
}
