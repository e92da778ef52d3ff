using LoraLab.Runtime;
using TorchSharp;
using Xunit;

namespace LoraLab.Tests;

public class RuntimeTests
{
    [Fact]
    public void TorchSharpLoadsAndComputes()
    {
        TorchRuntime.EnsureLoaded();
        using var a = torch.ones(64, 64);
        using var c = a.matmul(a);
        Assert.Equal(64f, c[0, 0].item<float>());
    }

    [Fact]
    public void CompatibilityStepLeavesNoStrongRequirement()
    {
        var status = TorchRuntime.CompatStatus();
        Assert.DoesNotContain("NOT applied", status);
    }
}
