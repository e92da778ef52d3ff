using LoraLab.Evaluation.Chat;
using LoraLab.Tests.Fakes;
using Xunit;

namespace LoraLab.Tests.Conversations;

/// A server's stop strings: the earliest of them (or of the end-of-turn marker) ends the reply, and no piece of
/// any of them is shown before it is clear it is not one.
public class ReplyTextStopTests
{
    static (string Shown, bool Ended, List<string> Pieces) Run(string text, string? endOfTurn, params string[] stops)
    {
        var tok = new CharTokenizer(chatSpecials: false);
        var reply = new ReplyText(tok, endOfTurn, stops);
        var pieces = new List<string>();
        foreach (var id in tok.Encode(text))
        {
            pieces.Add(reply.Push(id));
            if (reply.Ended) break;
        }
        pieces.Add(reply.Finish());
        return (string.Concat(pieces), reply.Ended, pieces);
    }

    static void Ends(string text, string shown, bool ended, params string[] stops)
    {
        var r = Run(text, null, stops);
        Assert.Equal((shown, ended), (r.Shown, r.Ended));
    }

    [Fact]
    public void TheEarliestStopEndsTheReplyAndNoPartOfAnyStopIsShown()
    {
        // "ab" starts inside the held "xaab" (a partial of "aab..."): the earliest full match wins
        var (shown, ended, pieces) = Run("1 xaabz <|im_end|>", "<|im_end|>", "aabq", "ab");
        Assert.Equal(("1 xa", true), (shown, ended));
        Assert.DoesNotContain(pieces, p => p.Contains('b'));
        Ends("one two\n\nthree END", "one two", true, "\n\n", "END");
        Ends("héllo 😀 wörld", "héllo ", true, "😀");
        Ends("no stop here: aa", "no stop here: aa", false, "aab");
        Ends("STOP at once", "", true, "STOP");
        Ends("keep", "keep", false, ""); // an empty stop string stops nothing
    }
}
