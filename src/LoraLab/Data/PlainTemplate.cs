namespace LoraLab.Data;

/// Raw text, all of it trained on: for continued pre-training or data rendered ahead of time.
public sealed class PlainTemplate : PromptTemplate
{
    public override string Name => "plain";

    public override IReadOnlyList<Segment> Render(Record record) => record switch
    {
        TextRecord t => [new Segment(t.Text, true)],
        _ => throw Unsupported(record, $"a {ConversationTemplate.KindOf(record)} record ('plain' takes 'text' records; use alpaca, chatml, llama2-chat or llama3)"),
    };

    /// The prompt is the user's text as given: plain has no markup to add.
    public override IReadOnlyList<Segment> RenderPromptSegments(IReadOnlyList<ChatMessage> messages) =>
        messages is [{ Role: ChatMessage.User } only]
            ? [new Segment(only.Content, false)]
            : throw new UserException("template 'plain': a generation prompt is a single user message (the text to continue)");
}
