using LoraLab.Adapters;
using LoraLab.Models;
using LoraLab.Training;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace LoraLab.Tests.Training;

public class GradientCheckpointingTests
{
    /// Recomputing each layer in backward gives the same loss and the same gradients as keeping activations, for
    /// LoRA (frozen layer-0 input) and for full fine-tuning, with grouped-query attention.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SameLossAndGradients(bool full)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var model = new CausalLM(KnownConfigs.Get("tiny"), ScalarType.Float32, CPU);
        model.InitializeRandom(5);
        if (full) foreach (var p in model.parameters()) p.requires_grad = true;
        else
        {
            LoraInjector.Apply(model, new LoraConfig { R = 4, Alpha = 8, TargetModules = LoraTargets.Parse("all") }, 5);
            using var _ = no_grad();
            // a non-zero B so that every A receives a gradient too
            foreach (var a in LoraInjector.Adapters(model)) a.lora_B.weight!.normal_(0, 0.02);
        }
        model.train();
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        var ids = randint(0, model.Config.VocabSize, new long[] { 2, 17 }, generator: new torch.Generator(1));

        (float Loss, Tensor[] Grads) Run(bool checkpointing)
        {
            model.GradientCheckpointing = checkpointing;
            foreach (var (_, p) in trainable) p.grad = null;
            var loss = Losses.NextTokenSum(model, ids, ids);
            loss.backward();
            return (loss.item<float>(), trainable.Select(t => t.parameter.grad!.clone()).ToArray());
        }

        var plain = Run(false);
        var ckpt = Run(true);
        Assert.Equal(plain.Loss, ckpt.Loss, 4);
        for (int i = 0; i < trainable.Count; i++)
            Assert.True(plain.Grads[i].allclose(ckpt.Grads[i], rtol: 1e-4, atol: 1e-6), $"{trainable[i].name}: gradient differs");
    }

    /// The loss straight from ids (chunked head) equals the loss from full logits.
    [Fact]
    public void ModelLossMatchesLogitsLoss()
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var model = new CausalLM(KnownConfigs.Get("tiny"), ScalarType.Float32, CPU);
        model.InitializeRandom(2);
        var ids = randint(0, model.Config.VocabSize, new long[] { 3, 12 }, generator: new torch.Generator(4));
        var labels = ids.clone();
        labels[1, 5] = tensor(Losses.Ignore);
        using var _ = no_grad();
        var a = Losses.NextTokenSum(model, ids, labels).item<float>();
        var b = Losses.NextTokenSum(model.Forward(ids), labels).item<float>();
        Assert.Equal(b, a, 3);
    }

    /// Full fine-tuning through the chunked head and the embedding lookup (both write their vocabulary-sized
    /// gradients into .grad through buffers kept between steps) gives the gradients of the plain logits path: two
    /// accumulated micro-batches, repeated over two steps, with and without a head tied to the embeddings.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FullFineTuningGradientsMatchThePlainHead(bool tied)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var kept = Runtime.KeptBuffers.Scope();
        using var scope = NewDisposeScope();
        using var model = new CausalLM(KnownConfigs.Get("tiny") with { TieWordEmbeddings = tied }, ScalarType.Float32, CPU);
        model.InitializeRandom(6);
        foreach (var p in model.parameters()) p.requires_grad = true;
        model.train();
        var trainable = model.named_parameters().ToList();
        var gen = new torch.Generator(9);
        for (int step = 0; step < 2; step++)
        {
            var batches = new[] { randint(0, model.Config.VocabSize, new long[] { 2, 11 }, generator: gen),
                                  randint(0, model.Config.VocabSize, new long[] { 1, 9 }, generator: gen) };
            Tensor[] Grads(bool chunked)
            {
                foreach (var (_, p) in trainable) p.grad = null;
                foreach (var ids in batches)
                    (chunked ? Losses.NextTokenSum(model, ids, ids) : Losses.NextTokenSum(model.Forward(ids), ids)).backward();
                return trainable.Select(t => t.parameter.grad!.clone()).ToArray();
            }
            var chunkedGrads = Grads(true);
            var plainGrads = Grads(false);
            foreach (var (_, p) in trainable) p.grad = null;
            for (int i = 0; i < trainable.Count; i++)
                Assert.True(chunkedGrads[i].allclose(plainGrads[i], rtol: 1e-4, atol: 1e-6), $"step {step}, {trainable[i].name}: gradient differs");
        }
    }
}
