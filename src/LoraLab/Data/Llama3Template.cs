namespace LoraLab.Data;

/// Meta Llama 3 Instruct: `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>`, content trimmed
/// as Meta's reference tokenizer does. `<|begin_of_text|>` is the tokenizer's BOS, added by the example builder.
public sealed class Llama3Template : ConversationTemplate
{
    public const string StartHeader = "<|start_header_id|>", EndHeader = "<|end_header_id|>", Eot = "<|eot_id|>";

    public override string Name => "llama3";
    public override string EndOfTurn => Eot;

    protected override void AppendTurns(List<Segment> into, IReadOnlyList<ChatMessage> messages)
    {
        foreach (var m in messages)
        {
            Add(into, Header(m.Role), false);
            Add(into, m.Content.Trim() + Eot, m.Role == ChatMessage.Assistant);
        }
    }

    protected override void AppendGenerationHeader(List<Segment> into, int turnsBefore) =>
        Add(into, Header(ChatMessage.Assistant), false);

    static string Header(string role) => StartHeader + role + EndHeader + "\n\n";
}
