namespace LoraLab.Data;

/// Llama 2 Chat as in Meta's reference `chat_completion`: a system message is folded into the first user
/// turn as `<<SYS>>\n...\n<</SYS>>\n\n`; each exchange is `<s>[INST] user [/INST] answer </s>` with both
/// sides trimmed. The first `<s>` is the tokenizer's BOS (added by the example builder); later ones are
/// written here, and the builder maps `<s>`/`</s>` to the BOS/EOS ids.
public sealed class Llama2ChatTemplate : ConversationTemplate
{
    public const string BeginInst = "[INST]", EndInst = "[/INST]";
    public const string BeginSys = "<<SYS>>\n", EndSys = "\n<</SYS>>\n\n";
    public const string Bos = "<s>", Eos = "</s>";

    public override string Name => "llama2-chat";
    public override string EndOfTurn => Eos;

    protected override void Validate(IReadOnlyList<ChatMessage> messages, string origin)
    {
        var turns = FoldSystem(messages);
        for (int i = 0; i < turns.Count; i++)
        {
            var expected = i % 2 == 0 ? ChatMessage.User : ChatMessage.Assistant;
            if (turns[i].Role != expected)
                throw new UserException($"{origin}: llama2-chat needs turns alternating user/assistant (after an optional system message); turn {i} is '{turns[i].Role}'");
        }
    }

    protected override void AppendTurns(List<Segment> into, IReadOnlyList<ChatMessage> messages)
    {
        var turns = FoldSystem(messages);
        for (int i = 0; i < turns.Count; i++)
        {
            if (turns[i].Role == ChatMessage.User)
                Add(into, (i > 0 ? Bos : "") + $"{BeginInst} {turns[i].Content.Trim()} {EndInst}", false);
            else
                Add(into, $" {turns[i].Content.Trim()} " + Eos, true);
        }
    }

    // The prompt already ends with `[/INST]`; the answer's leading space belongs to the response.
    protected override void AppendGenerationHeader(List<Segment> into, int turnsBefore) { }

    static IReadOnlyList<ChatMessage> FoldSystem(IReadOnlyList<ChatMessage> messages)
    {
        if (messages.Count < 2 || messages[0].Role != ChatMessage.System) return messages;
        var first = new ChatMessage(messages[1].Role, BeginSys + messages[0].Content + EndSys + messages[1].Content);
        return [first, .. messages.Skip(2)];
    }
}
