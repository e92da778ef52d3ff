using LoraLab.Adapters;
using LoraLab.Models;
using LoraLab.Training;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace LoraLab.Tests.Training;

/// The training loss sends only positions with a target through the output layer; loss and gradients must equal the
/// plain logits → shifted cross-entropy over every position, for a dense head (chunked) and an adapted one.
public class TargetRowsTests
{
    /// Three rows of 9: a masked prompt, right padding, and a row with every label a target.
    static (Tensor Ids, Tensor Labels) Batch(long vocab)
    {
        var gen = new torch.Generator(21);
        var ids = randint(0, vocab, new long[] { 3, 9 }, generator: gen);
        var labels = ids.clone();
        labels[0].narrow(0, 0, 5).fill_(Losses.Ignore); // prompt
        labels[1].narrow(0, 6, 3).fill_(Losses.Ignore); // padding
        return (ids, labels);
    }

    [Fact]
    public void PositionsAreThoseWhoseNextLabelIsATarget()
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        var labels = tensor(new long[] { 5, -100, -100, 7, 8, -100, 4, 3, -100, -100 }, new long[] { 2, 5 });
        // Row 0 predicts labels 1..4 from positions 0..3: targets at 3 and 4 → positions 2, 3.
        // Row 1 predicts from positions 5..8: labels 4 (at 6) and 3 (at 7) → positions 5, 6.
        Assert.Equal(new long[] { 2, 3, 5, 6 }, Losses.TargetPositions(labels).data<long>().ToArray());
        Assert.Equal(0, Losses.TargetPositions(full(2, 5, Losses.Ignore, dtype: ScalarType.Int64)).shape[0]);
    }

    [Theory]
    [InlineData(false)] // dense head: the chunked loss
    [InlineData(true)]  // LoRA on lm_head: logits of the target positions, then cross-entropy
    public void LossAndGradientsEqualThePlainLoss(bool adaptedHead)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        using var model = new CausalLM(KnownConfigs.Get("tiny"), ScalarType.Float32, CPU);
        model.InitializeRandom(5);
        if (adaptedHead)
        {
            LoraInjector.Apply(model, new LoraConfig { R = 4, Alpha = 8, TargetModules = LoraTargets.Parse("qv", includeHead: true) }, 5);
            var gen = new torch.Generator(9);
            using (no_grad())
                foreach (var a in LoraInjector.Adapters(model)) a.lora_B.weight!.normal_(0, 0.02, gen);
            Assert.Null(model.DenseHeadWeight);
        }
        else
        {
            foreach (var p in model.parameters()) p.requires_grad = true;
        }
        model.train();
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        var (ids, labels) = Batch(model.Config.VocabSize);

        var picked = Losses.NextTokenSum(model, ids, labels);
        picked.backward();
        var pickedGrads = trainable.Select(p => p.grad!.clone()).ToArray();
        foreach (var p in trainable) p.grad = null;

        var plain = Losses.NextTokenSum(model.Forward(ids), labels);
        plain.backward();

        Assert.Equal(plain.item<float>(), picked.item<float>(), 3);
        for (int i = 0; i < trainable.Count; i++)
            Assert.True(pickedGrads[i].allclose(trainable[i].grad!, rtol: 1e-4, atol: 1e-6), $"gradient {i} differs from the plain loss's");
        foreach (var p in trainable) p.grad = null;
    }
}
