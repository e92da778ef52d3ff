using LoraLab.Diagnostics;
using LoraLab.Evaluation;
using Xunit;

namespace LoraLab.Tests.Models;

/// Generation past max_position_embeddings grows the rotary table inside a generation step's dispose scope;
/// the grown table must outlive that step.
public class RotaryGrowthTests
{
    [Fact]
    public void GeneratesPastTheConfiguredMaximumPositions()
    {
        using var m = SelfChecks.TinyModel();   // max_position_embeddings 64
        var prompt = Enumerable.Range(1, 60).ToArray();
        var r = TextGenerator.Generate(m, prompt, new SamplingOptions { MaxNewTokens = 20 });
        Assert.Equal(20, r.Tokens.Count);
        var again = TextGenerator.Generate(m, prompt, new SamplingOptions { MaxNewTokens = 20 });
        Assert.Equal(r.Tokens, again.Tokens);
    }
}
