namespace LoraLab.Data;

/// Renders records into text segments for training, and prompts for generation, through one code path
/// (<see cref="Render(Record)"/> = <see cref="RenderPromptSegments(IReadOnlyList{ChatMessage})"/> of the
/// history + the response), so the text a model is tuned on and the text it is later prompted with can't drift.
public abstract class PromptTemplate
{
    /// The templates by name, as given to `--template`.
    public static readonly IReadOnlyList<string> Names = ["alpaca", "chatml", "llama2-chat", "llama3", "plain"];

    public static PromptTemplate Get(string name) => name.Trim().ToLowerInvariant() switch
    {
        "alpaca" => new AlpacaTemplate(),
        "chatml" => new ChatMLTemplate(),
        "llama2-chat" => new Llama2ChatTemplate(),
        "llama3" => new Llama3Template(),
        "plain" => new PlainTemplate(),
        _ => throw new UserException($"unknown prompt template '{name}' (available: {string.Join(", ", Names)})"),
    };

    /// A `--template` value: a template's name, or `auto` for the model's own chat template when it is one of the known
    /// simple forms (tokenizer_config.json's `chat_template`), else Alpaca. One rule for train, data preview and
    /// serving, so a preview shows the text training will see.
    public static PromptTemplate Resolve(string name, string? modelChatTemplate) =>
        name.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase)
            ? FromChatTemplate(modelChatTemplate) ?? new AlpacaTemplate()
            : Get(name);

    /// Recognises a model's own Jinja `chat_template` (from tokenizer_config.json) when it is one of the simple
    /// forms implemented here; null when it isn't, or when it adds text of its own (a default system prompt,
    /// tool instructions, dates), since rendering without that text would not match what the model expects.
    public static PromptTemplate? FromChatTemplate(string? jinja) => ChatTemplateRecognizer.Recognize(jinja);

    public abstract string Name { get; }

    /// The token that closes each turn (e.g. `<|im_end|>`) when the template has one; null when examples end
    /// with the tokenizer's EOS. Generation should stop on it too.
    public virtual string? EndOfTurn => null;

    /// Segments of a whole training example: prompt parts not trainable, responses trainable.
    public abstract IReadOnlyList<Segment> Render(Record record);

    /// Segments of a generation prompt for a conversation that ends with a user turn; the last segment
    /// ends exactly where the assistant's response starts.
    public abstract IReadOnlyList<Segment> RenderPromptSegments(IReadOnlyList<ChatMessage> messages);

    /// Segments of a generation prompt for an instruction (and optional input) in Alpaca's terms.
    public virtual IReadOnlyList<Segment> RenderPromptSegments(string instruction, string? input = null) =>
        RenderPromptSegments([new ChatMessage(ChatMessage.User, CombineInstruction(instruction, input))]);

    public string RenderPrompt(IReadOnlyList<ChatMessage> messages) => Concat(RenderPromptSegments(messages));

    public string RenderPrompt(string instruction, string? input = null) => Concat(RenderPromptSegments(instruction, input));

    public static string Concat(IEnumerable<Segment> segments) => string.Concat(segments.Select(s => s.Text));

    /// An Alpaca record in chat form: the input follows the instruction after a blank line.
    public static IReadOnlyList<ChatMessage> ToMessages(AlpacaRecord r) =>
    [
        new(ChatMessage.User, CombineInstruction(r.Instruction, r.Input)),
        new(ChatMessage.Assistant, r.Output),
    ];

    static string CombineInstruction(string instruction, string? input) =>
        string.IsNullOrEmpty(input) ? instruction : $"{instruction}\n\n{input}";

    protected UserException Unsupported(Record record, string what) =>
        new($"{record.Origin}: template '{Name}' cannot render {what}");
}
