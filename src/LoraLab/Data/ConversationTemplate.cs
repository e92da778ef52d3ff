namespace LoraLab.Data;

/// Base of the chat templates: validates a conversation and renders it turn by turn. Training and
/// generation go through the same <see cref="AppendTurns"/>; generation then adds the assistant header.
public abstract class ConversationTemplate : PromptTemplate
{
    public override IReadOnlyList<Segment> Render(Record record)
    {
        var messages = record switch
        {
            ChatRecord c => c.Messages,
            AlpacaRecord a => ToMessages(a),
            _ => throw Unsupported(record, $"a {KindOf(record)} record (use --template plain for 'text' records)"),
        };
        if (messages[^1].Role != ChatMessage.Assistant)
            throw new UserException($"{record.Origin}: the conversation ends with a '{messages[^1].Role}' turn; a training conversation must end with an assistant turn");
        Validate(messages, record.Origin);
        var segments = new List<Segment>();
        AppendTurns(segments, messages);
        return segments;
    }

    public override IReadOnlyList<Segment> RenderPromptSegments(IReadOnlyList<ChatMessage> messages)
    {
        if (messages.Count == 0 || messages[^1].Role != ChatMessage.User)
            throw new UserException($"template '{Name}': a generation prompt must end with a user message");
        Validate(messages, "prompt");
        var segments = new List<Segment>();
        AppendTurns(segments, messages);
        AppendGenerationHeader(segments, messages.Count);
        return segments;
    }

    /// Checks turn order; the default accepts any order after an optional leading system message.
    protected virtual void Validate(IReadOnlyList<ChatMessage> messages, string origin)
    {
        for (int i = 1; i < messages.Count; i++)
            if (messages[i].Role == ChatMessage.System)
                throw new UserException($"{origin}: message {i} is a system message; only the first message may be one");
    }

    /// Renders every turn; assistant content (with its end-of-turn marker) is trainable, everything else not.
    protected abstract void AppendTurns(List<Segment> into, IReadOnlyList<ChatMessage> messages);

    /// Text that opens the assistant's turn at generation time; <paramref name="turnsBefore"/> turns precede it.
    protected abstract void AppendGenerationHeader(List<Segment> into, int turnsBefore);

    /// Adds text, merging with the previous segment when both have the same trainability: fewer
    /// boundaries means tokenization closer to tokenizing the whole string at once.
    protected static void Add(List<Segment> into, string text, bool trainable)
    {
        if (text.Length == 0) return;
        if (into.Count > 0 && into[^1].Trainable == trainable)
            into[^1] = new Segment(into[^1].Text + text, trainable);
        else
            into.Add(new Segment(text, trainable));
    }

    internal static string KindOf(Record r) => r switch
    {
        AlpacaRecord => "Alpaca",
        ChatRecord => "chat",
        TextRecord => "plain-text",
        TokenizedRecord => "pre-tokenized",
        _ => r.GetType().Name,
    };
}
