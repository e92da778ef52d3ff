using LoraLab.Serving;

namespace LoraLab.Tests.Serving;

/// Reading what the engine sends for one completion.
static class Completions
{
    /// The text pieces joined, and the end; fails when the stream closes without one.
    public static async Task<(string Text, CompletionEnd End)> Read(CompletionStream s)
    {
        var text = new System.Text.StringBuilder();
        await foreach (var e in s.Events.ReadAllAsync())
        {
            if (e is CompletionText t) text.Append(t.Text);
            else if (e is CompletionEnd end) return (text.ToString(), end);
        }
        throw new Xunit.Sdk.XunitException("the stream ended without a CompletionEnd");
    }
}
