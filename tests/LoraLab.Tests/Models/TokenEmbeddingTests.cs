using LoraLab.Models;
using LoraLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using Xunit;

namespace LoraLab.Tests.Models;

public class TokenEmbeddingTests
{
    /// A trained table's gradient goes into .grad through a buffer kept between steps: over three steps of two
    /// accumulated passes each (repeated ids included), it equals plain autograd through index_select, so the reused
    /// buffer is zeroed between steps and accumulation adds every pass once.
    [Fact]
    public void TrainedTableGradientEqualsPlainAutogradAcrossStepsAndAccumulation()
    {
        TorchRuntime.EnsureLoaded();
        using var kept = KeptBuffers.Scope();
        using var scope = NewDisposeScope();
        var gen = new torch.Generator(11);
        using var emb = new TokenEmbedding("embed_tokens", 50, 8, ScalarType.Float32);
        using (no_grad()) emb.weight.copy_(randn(new long[] { 50, 8 }, generator: gen));
        emb.weight.requires_grad = true; // full fine-tuning
        for (int step = 0; step < 3; step++)
        {
            var first = randint(0, 50, new long[] { 2, 7 }, generator: gen);
            first[1, 3] = first[0, 0].clone(); // a repeated id
            var second = randint(0, 50, new long[] { 1, 5 }, generator: gen);
            emb.forward(first).pow(2).sum().backward();
            emb.forward(second).tanh().sum().backward();
            var got = emb.weight.grad!.clone();
            emb.weight.grad = null; // as a training step drops its gradients

            var w = emb.weight.detach().clone().requires_grad_(true);
            w.index_select(0, first.reshape(-1)).pow(2).sum().backward();
            w.index_select(0, second.reshape(-1)).tanh().sum().backward();
            Assert.True(got.allclose(w.grad!, rtol: 1e-5, atol: 1e-6), $"step {step}: embedding gradient differs");
        }
    }

    /// The kept gradient buffer is handed out zeroed and reused while the weight has no gradient; while one is being
    /// accumulated a separate tensor is returned, so the gradient in .grad is never overwritten.
    [Fact]
    public void KeptGradientBufferIsReusedOnlyWhenFree()
    {
        TorchRuntime.EnsureLoaded();
        using var kept = KeptBuffers.Scope();
        using var scope = NewDisposeScope();
        var w = zeros(4, 3).requires_grad_(true);
        var a = KeptBuffers.ZeroGradient(w);
        a.fill_(7);
        var b = KeptBuffers.ZeroGradient(w);
        Assert.Equal(0f, b.abs().sum().item<float>());
        b.fill_(5);
        Assert.Equal(5f, a[0, 0].item<float>()); // the same storage
        using (no_grad()) w.grad = b;
        var c = KeptBuffers.ZeroGradient(w);
        c.fill_(1);
        Assert.Equal(5f, w.grad!.mean().item<float>());
    }
}
