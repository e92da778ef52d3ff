using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.Training;

public class LossScalerTests
{
    [Fact]
    public void OverflowSkipsTheStepAndHalvesTheScale()
    {
        var s = new LossScaler(initialScale: 1024, growthInterval: 3);
        Assert.False(s.Update(finite: false));
        Assert.Equal(512, s.Scale);
        Assert.Equal(1, s.SkippedSteps);
        Assert.True(s.Update(true));
        Assert.True(s.Update(true));
        Assert.True(s.Update(true));
        Assert.Equal(1024, s.Scale); // doubled after 3 good steps
    }
}
