using LoraLab.Data;
using LoraLab.Evaluation.Chat;
using LoraLab.Tests.Fakes;
using Xunit;

namespace LoraLab.Tests.Conversations;

/// The history a chat repeats: every earlier turn in the next prompt, the oldest dropped (with the note) when the
/// prompt plus the reply budget outgrows the window, /reset, and no history for single-message templates.
public class ConversationTests
{
    static ExampleBuilder ChatML => new(new CharTokenizer(), new ChatMLTemplate());

    [Fact]
    public void EachPromptRepeatsTheEarlierTurns()
    {
        var c = new Conversation(ChatML, 1000, system: "Be brief.");
        c.Add("first question", "first answer");
        var p = c.Next("second question", 10);
        Assert.Equal("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nfirst question<|im_end|>\n<|im_start|>assistant\nfirst answer<|im_end|>\n" +
                     "<|im_start|>user\nsecond question<|im_end|>\n<|im_start|>assistant\n", p.Text);
        Assert.Equal(ChatML.EncodePrompt(p.Messages), p.Ids);
        Assert.Equal((0, 1, 10, (string?)null), (p.DroppedTurns, p.KeptTurns, p.MaxNewTokens, p.DroppedNote));
        c.Reset();
        Assert.DoesNotContain("first", c.Next("again", 10).Text);
        Assert.Contains("Be brief.", c.Next("again", 10).Text);
    }

    [Fact]
    public void AFullWindowDropsTheOldestTurnsWithANote()
    {
        var b = ChatML;
        int Tokens(params string[] turns)
        {
            var m = new List<ChatMessage>();
            for (int i = 0; i < turns.Length - 1; i += 2) { m.Add(new(ChatMessage.User, turns[i])); m.Add(new(ChatMessage.Assistant, turns[i + 1])); }
            m.Add(new(ChatMessage.User, turns[^1]));
            return b.EncodePrompt(m).Length;
        }
        // room for the last two turns and the new message with a 5-token reply, not for all three
        int window = Tokens("q2", "a2", "q3", "a3", "q4") + 5;
        Assert.True(Tokens("q1", "a1", "q2", "a2", "q3", "a3", "q4") + 5 > window);
        var c = new Conversation(b, window);
        c.Add("q1", "a1"); c.Add("q2", "a2"); c.Add("q3", "a3");
        var p = c.Next("q4", 5);
        Assert.Equal((1, 2, 5), (p.DroppedTurns, p.KeptTurns, p.MaxNewTokens));
        Assert.Equal($"(context window of {window} tokens full: dropped the oldest turn, 2 kept)", p.DroppedNote);
        Assert.DoesNotContain("q1", p.Text);
        Assert.Contains("q2", p.Text);
        Assert.Equal(window - 5, p.Ids.Length);
        Assert.Equal(2, c.Turns);   // dropped for good

        // a window that holds only the message: every turn goes, and the reply gets the room that is left
        c = new Conversation(b, Tokens("q4") + 3);
        c.Add("q1", "a1"); c.Add("q2", "a2");
        p = c.Next("q4", 5);
        Assert.Equal((2, 0, 3), (p.DroppedTurns, p.KeptTurns, p.MaxNewTokens));
        Assert.Equal($"(context window of {Tokens("q4") + 3} tokens full: dropped the 2 oldest turns, 0 kept)", p.DroppedNote);

        var tooLong = Assert.Throws<UserException>(() => new Conversation(b, Tokens("q4")).Next("q4", 5));
        Assert.Contains("does not fit the context window", tooLong.Message);
    }

    [Fact]
    public void SingleMessageTemplatesKeepNoHistory()
    {
        var c = new Conversation(new ExampleBuilder(new CharTokenizer(), new AlpacaTemplate()), 1000);
        Assert.False(c.MultiTurn);
        c.Add("Name a colour.", "Blue.");
        Assert.Equal(0, c.Turns);
        Assert.DoesNotContain("colour", c.Next("And another?", 10).Text);
    }
}
