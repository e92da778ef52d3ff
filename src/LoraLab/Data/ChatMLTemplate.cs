namespace LoraLab.Data;

/// ChatML (OpenAI; used by Qwen, Hermes and others): `<|im_start|>role\ncontent<|im_end|>` with a newline
/// between turns. No default system message is inserted.
public sealed class ChatMLTemplate : ConversationTemplate
{
    public const string Start = "<|im_start|>", End = "<|im_end|>";

    public override string Name => "chatml";
    public override string EndOfTurn => End;

    protected override void AppendTurns(List<Segment> into, IReadOnlyList<ChatMessage> messages)
    {
        for (int i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            Add(into, Header(m.Role, i), false);
            Add(into, m.Content + End, m.Role == ChatMessage.Assistant);
        }
    }

    protected override void AppendGenerationHeader(List<Segment> into, int turnsBefore) =>
        Add(into, Header(ChatMessage.Assistant, turnsBefore), false);

    // The newline that follows each `<|im_end|>` is written before the next turn, so an example ends on
    // the end-of-turn token itself and that token is the last target.
    static string Header(string role, int index) => (index > 0 ? "\n" : "") + Start + role + "\n";
}
