using LoraLab.Data;

namespace LoraLab.Evaluation.Chat;

/// The turns of a chat that the next prompt repeats, kept within a context window. With a chat template every
/// earlier turn is rendered before the new message (oldest turns dropped for good when the prompt plus the reply's
/// token budget no longer fits); alpaca and plain take one message at a time, so they keep no history. The
/// system message, when given, is always kept.
public sealed class Conversation
{
    readonly ExampleBuilder _builder;
    readonly ChatMessage? _system;
    readonly List<(ChatMessage User, ChatMessage Reply)> _turns = new();

    public Conversation(ExampleBuilder builder, int contextTokens, string? system = null)
    {
        if (contextTokens < 2) throw new UserException($"the context window must be at least 2 tokens, got {contextTokens}");
        _builder = builder;
        ContextTokens = contextTokens;
        _system = system is null ? null : new ChatMessage(ChatMessage.System, system);
    }

    public int ContextTokens { get; }
    public bool MultiTurn => _builder.Template is ConversationTemplate;
    /// Turns (a message and its reply) the next prompt will repeat.
    public int Turns => _turns.Count;

    /// The prompt for a new message: earlier turns are dropped, oldest first, until the prompt and `maxNewTokens`
    /// fit the window; when the message alone leaves less room, the reply gets what is left.
    public TurnPrompt Next(string message, int maxNewTokens)
    {
        var user = new ChatMessage(ChatMessage.User, message);
        int dropped = 0;
        var messages = Messages(user);
        var ids = _builder.EncodePrompt(messages);
        while (ids.Length + maxNewTokens > ContextTokens && _turns.Count > 0)
        {
            _turns.RemoveAt(0);
            dropped++;
            messages = Messages(user);
            ids = _builder.EncodePrompt(messages);
        }
        if (ids.Length >= ContextTokens)
            throw new UserException($"the message does not fit the context window: its prompt is {ids.Length} tokens{(_system is null ? "" : " with the system message")} and the window is {ContextTokens}");
        return new TurnPrompt(messages, _builder.Template.RenderPrompt(messages), ids, Math.Min(maxNewTokens, ContextTokens - ids.Length), dropped, _turns.Count, ContextTokens);
    }

    /// Records a finished turn (the reply as generated, without its end marker).
    public void Add(string message, string reply)
    {
        if (MultiTurn) _turns.Add((new ChatMessage(ChatMessage.User, message), new ChatMessage(ChatMessage.Assistant, reply)));
    }

    /// Forgets every turn (the system message stays).
    public void Reset() => _turns.Clear();

    IReadOnlyList<ChatMessage> Messages(ChatMessage user)
    {
        var list = new List<ChatMessage>();
        if (_system is not null) list.Add(_system);
        foreach (var (u, r) in _turns) { list.Add(u); list.Add(r); }
        list.Add(user);
        return list;
    }
}

/// One turn's prompt: its messages, text (BOS aside) and ids, the reply's token budget, and how many earlier turns were
/// dropped to fit.
public sealed record TurnPrompt(IReadOnlyList<ChatMessage> Messages, string Text, int[] Ids, int MaxNewTokens, int DroppedTurns, int KeptTurns, int ContextTokens)
{
    /// The one-line note shown when turns were dropped; null when none were.
    public string? DroppedNote => DroppedTurns == 0 ? null :
        $"(context window of {ContextTokens} tokens full: dropped the {(DroppedTurns == 1 ? "oldest turn" : $"{DroppedTurns} oldest turns")}, {KeptTurns} kept)";
}
