using System.Text.RegularExpressions;

namespace LoraLab.Data;

/// The Stanford Alpaca prompt (tatsu-lab/stanford_alpaca, `PROMPT_DICT`), word for word: one variant for
/// records with an input, one without. The response follows "### Response:" directly, as in Alpaca's training.
public sealed class AlpacaTemplate : PromptTemplate
{
    public const string WithInput =
        "Below is an instruction that describes a task, paired with an input that provides further context. " +
        "Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:";

    public const string WithoutInput =
        "Below is an instruction that describes a task. " +
        "Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\n{instruction}\n\n### Response:";

    public override string Name => "alpaca";

    public override IReadOnlyList<Segment> Render(Record record) => record switch
    {
        AlpacaRecord a => Segments(a.Instruction, a.Input, a.Output),
        ChatRecord c => Segments(SingleTurn(c), "", c.Messages[1].Content),
        _ => throw Unsupported(record, $"a {ConversationTemplate.KindOf(record)} record (use --template plain for 'text' records)"),
    };

    public override IReadOnlyList<Segment> RenderPromptSegments(string instruction, string? input = null) =>
        Segments(instruction, input ?? "", null);

    public override IReadOnlyList<Segment> RenderPromptSegments(IReadOnlyList<ChatMessage> messages) =>
        messages is [{ Role: ChatMessage.User } only]
            ? Segments(only.Content, "", null)
            : throw new UserException("template 'alpaca': a generation prompt is a single user message (the instruction)");

    /// The one code path for both training (response given) and generation (response null).
    static IReadOnlyList<Segment> Segments(string instruction, string input, string? response)
    {
        // Same test as Alpaca's loader: an empty input selects the no-input wording.
        var prompt = Placeholder.Replace(input.Length > 0 ? WithInput : WithoutInput,
            m => m.Groups[1].Value == "input" ? input : instruction);
        return response is null ? [new Segment(prompt, false)] : [new Segment(prompt, false), new Segment(response, true)];
    }

    // Substituted in one pass over the template, so braces inside the user's text are left alone.
    static readonly Regex Placeholder = new(@"\{(instruction|input)\}", RegexOptions.Compiled);

    string SingleTurn(ChatRecord c) =>
        c.Messages is [{ Role: ChatMessage.User }, { Role: ChatMessage.Assistant }]
            ? c.Messages[0].Content
            : throw new UserException($"{c.Origin}: template 'alpaca' needs exactly one user turn followed by one assistant turn (this record has {c.Messages.Count} turns: {string.Join(", ", c.Messages.Select(m => m.Role))}); use chatml, llama2-chat or llama3 for conversations");
}
