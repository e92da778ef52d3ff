using LoraLab.Evaluation.Chat;
using LoraLab.Tests.Fakes;
using Xunit;

namespace LoraLab.Tests.Conversations;

/// A reply ends at the template's end-of-turn marker even when the tokenizer spells it in several tokens, and no
/// piece of the marker is ever shown.
public class ReplyTextTests
{
    [Fact]
    public void AMarkerSpeltInSeveralTokensEndsTheReplyUnshown()
    {
        var tok = new CharTokenizer(chatSpecials: false);   // "<|im_end|>" is ten byte tokens here
        var reply = new ReplyText(tok, "<|im_end|>");
        var shown = new List<string>();
        foreach (var id in tok.Encode("Hi <|im_ 😀<|im_end|>\nafter"))
        {
            shown.Add(reply.Push(id));
            if (reply.Ended) break;
        }
        shown.Add(reply.Finish());
        Assert.True(reply.Ended);
        Assert.Equal("Hi <|im_ 😀", string.Concat(shown));
        Assert.Equal("Hi <|im_ 😀", reply.Text);
        Assert.DoesNotContain(shown, s => s.Contains("<|im_e"));
        Assert.Contains(shown, s => s == "<|im_ ");   // a partial marker is released once it turns out not to be one
    }

    [Fact]
    public void WithoutTheMarkerEverythingIsShownAndHeldTextComesOutAtTheEnd()
    {
        var tok = new CharTokenizer(chatSpecials: false);
        var reply = new ReplyText(tok, "<|im_end|>");
        var shown = string.Concat(tok.Encode("ends with <|im").Select(reply.Push));
        Assert.Equal("ends with ", shown);
        Assert.Equal("<|im", reply.Finish());
        Assert.False(reply.Ended);
    }
}
