using LoraLab.Training;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Training;

/// ChunkedHeadLoss.PerRow (the preference objectives' head) gives each row's cross-entropy and its input gradient as
/// linear → cross-entropy does, across chunk boundaries, for row weights only known in backward.
public class ChunkedHeadLossPerRowTests
{
    [Fact]
    public void Per_row_losses_and_their_input_gradient_equal_plain_cross_entropy_over_several_chunks()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var weight = randn(37, 8);
        var targets = randint(0, 37, 11, dtype: ScalarType.Int64);
        var rowWeights = randn(11);
        var a = randn(11, 8).requires_grad_(true);
        var b = a.detach().clone().requires_grad_(true);

        var chunked = ChunkedHeadLoss.PerRow(a, weight, targets, chunkElements: 37 * 4); // 3 chunks of 4 rows
        var plain = nn.functional.cross_entropy(b.matmul(weight.t()), targets, reduction: nn.Reduction.None);
        Assert.True(chunked.allclose(plain, rtol: 1e-5, atol: 1e-6));
        chunked.mul(rowWeights).sum().backward();
        plain.mul(rowWeights).sum().backward();
        Assert.True(a.grad!.allclose(b.grad!, rtol: 1e-5, atol: 1e-6));

        using (no_grad())
            Assert.True(ChunkedHeadLoss.PerRow(a, weight, targets, chunkElements: 37 * 4).allclose(plain, rtol: 1e-5, atol: 1e-6));
        weight.requires_grad_(true);
        Assert.Throws<InvalidOperationException>(() => ChunkedHeadLoss.PerRow(a, weight, targets));
    }
}
