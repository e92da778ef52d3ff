using LoraLab.Adapters;
using System.ComponentModel;
using LoraLab.Data;
using LoraLab.Evaluation;
using LoraLab.Evaluation.Chat;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class ChatSettings : SamplingSettings
{
    [CommandOption("--template <NAME>")]
    [Description("Prompt template (default: the one the adapter was trained with, else the model's own chat template when it is a known form).")]
    public string? Template { get; set; }

    [CommandOption("--system <TEXT>")]
    [Description("A system message opening the conversation (chat templates only).")]
    public string? System { get; set; }

    [CommandOption(SharedFlags.MaxNewTokens)]
    [Description(SharedFlags.MaxNewTokensHelp)]
    [DefaultValue(256)]
    public int MaxNewTokens { get; set; } = 256;

    [CommandOption("--max-context <N>")]
    [Description("Tokens of history + reply the conversation keeps; the oldest turns are dropped beyond it (default: the model's max_position_embeddings).")]
    public int? MaxContext { get; set; }

    [CommandOption("--show-prompt")]
    [Description("Print each turn's whole prompt (history included, as the model sees it) on stderr.")]
    public bool ShowPrompt { get; set; }

    public override Spectre.Console.ValidationResult Validate()
    {
        SamplingOptions.MaxNewTokensRange.Check("--max-new-tokens", MaxNewTokens);
        if (MaxContext is int c) SamplingOptions.MaxNewTokensRange.Check("--max-context", c);
        return base.Validate();
    }
}

/// `loralab chat`: a conversation on stdin. At a terminal: a `> ` prompt, replies streamed as they are generated,
/// `/reset` and `/exit` (or end of input). From a pipe: one reply per message line and nothing else on stdout, so it
/// can be scripted. The conversation itself (history, context window, end markers) is Evaluation.Chat's.
public sealed class ChatCommand : Command<ChatSettings>
{
    const string Exit = "/exit", Reset = "/reset";

    public override int Execute(CommandContext context, ChatSettings s, CancellationToken cancellation)
    {
        using var loaded = ModelSession.Open(s, out var adapter);
        var tok = loaded.RequireTokenizer();
        var builder = PromptChoice.Resolve(tok, s.Template, raw: false, adapter)
            ?? ServingTemplate.OwnChat(tok)
            ?? throw new UserException("chat needs a template: give --template NAME, or an --adapter trained by loralab (it records one)");
        if (s.System is not null && builder.Template is not ConversationTemplate)
            throw new UserException($"--system: template '{builder.Template.Name}' has no system message");
        int window = loaded.Config.MaxPositionEmbeddings;
        if (s.MaxContext > window)
            throw new UserException($"--max-context {s.MaxContext}: the model's context is {window} tokens (max_position_embeddings in its config.json)");
        var sampling = s.Sampling(s.MaxNewTokens);
        using var chat = new ChatSession(loaded.Model, builder, sampling, s.MaxContext ?? window, s.System);
        bool terminal = !Console.IsInputRedirected;
        if (terminal)
            Console.Error.WriteLine($"chat · template {builder.Template.Name} · context {chat.Conversation.ContextTokens} tokens · " +
                $"{(chat.Conversation.MultiTurn ? $"{Reset} forgets the history · " : "one message at a time · ")}{Exit} or Ctrl-D quits");
        while (!cancellation.IsCancellationRequested)
        {
            if (terminal) Console.Error.Write("> ");
            var line = Console.In.ReadLine();
            if (line is null || line.Trim() == Exit) break;
            if (line.Trim() == Reset)
            {
                chat.Conversation.Reset();
                if (terminal) Console.Error.WriteLine("(history forgotten)");
                continue;
            }
            if (line.Trim().Length == 0)
            {
                if (!terminal) Console.WriteLine(); // a script reads reply N on line N, so an empty message gets an empty line
                continue;
            }
            try { Answer(chat, line, s, terminal); }
            catch (UserException e) when (terminal) { Console.Error.WriteLine($"error: {e.Message}"); }
        }
        return 0;
    }

    public static string OneLine(string piece) => piece.Replace("\\", "\\\\").Replace("\r", "\\r").Replace("\n", "\\n");

    static void Answer(ChatSession chat, string line, ChatSettings s, bool terminal)
    {
        // From a pipe each reply is one line: newlines inside it are written as \n (and backslashes as \\).
        var reply = chat.Reply(line, piece => Console.Write(terminal ? piece : OneLine(piece)), prompt =>
        {
            if (prompt.DroppedNote is { } note) Console.Error.WriteLine(note);
            if (s.ShowPrompt) Console.Error.WriteLine($"--- prompt ({prompt.Ids.Length} tokens) ---\n{prompt.Text}\n---");
        });
        Console.WriteLine();
        if (!terminal || reply.Ended) return;
        if (reply.Tokens < s.MaxNewTokens) Console.Error.WriteLine($"(stopped after {reply.Tokens} tokens: the context window is full; /reset starts afresh)");
        else Console.Error.WriteLine($"(stopped at --max-new-tokens {s.MaxNewTokens} without an end token)");
    }
}
