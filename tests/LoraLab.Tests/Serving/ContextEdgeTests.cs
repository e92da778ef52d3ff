using LoraLab.ModelFiles;
using LoraLab.Serving;
using Xunit;

namespace LoraLab.Tests.Serving;

/// A completion may fill the context exactly (prompt + completion = max context), on every slot at once, and a
/// slot reused by a shorter prompt after a longer one gives that prompt's own completion.
public class ContextEdgeTests
{
    [Fact]
    public async Task CompletionsFillTheContextExactlyAndSlotsAreReusedCleanly()
    {
        using var loaded = ModelLoader.Load(ServedAdapters.Base);
        using var engine = new ServeEngine(loaded, new ServeOptions { MaxBatch = 2, MaxContext = 16 });
        var req = new CompletionRequest { Model = engine.BaseId, Prompt = "a b c", Temperature = 0 };
        var alone = await Completions.Read(await engine.SubmitAsync(req, CancellationToken.None));
        var streams = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => engine.SubmitAsync(i % 2 == 0 ? req : req with { Prompt = "a b c d e f g h" }, CancellationToken.None)));
        var results = await Task.WhenAll(streams.Select(Completions.Read));
        foreach (var (s, (text, end)) in streams.Zip(results))
        {
            Assert.Null(end.Error);
            Assert.Equal(FinishReason.Length, end.Reason);
            Assert.Equal(16, s.PromptTokens + end.CompletionTokens);
        }
        Assert.Equal(alone.Text, results[4].Text);
        Assert.Equal(results[1].Text, results[5].Text);
    }
}
