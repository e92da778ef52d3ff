using System.ComponentModel;
using LoraLab.Data;
using LoraLab.Evaluation;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class ChatSettings : AdapterSettings
{
    [CommandOption("--template <NAME>")]
    [Description("Prompt template (default: the one the adapter was trained with).")]
    public string? Template { get; set; }

    [CommandOption("--system <TEXT>")]
    [Description("A system message opening the conversation (chat templates only).")]
    public string? System { get; set; }

    [CommandOption("--max-new-tokens <N>")]
    [DefaultValue(256)]
    public int MaxNewTokens { get; set; } = 256;

    [CommandOption("--temperature <T>")]
    [DefaultValue(0.0)]
    public double Temperature { get; set; }

    [CommandOption(SharedFlags.Seed)]
    [DefaultValue(0L)]
    public long Seed { get; set; }

    public override Spectre.Console.ValidationResult Validate()
    {
        SamplingOptions.MaxNewTokensRange.Check("--max-new-tokens", MaxNewTokens);
        SamplingOptions.TemperatureRange.Check("--temperature", Temperature);
        return base.Validate();
    }
}

/// `loralab chat`: an interactive loop over stdin lines, each rendered with the template the adapter was trained
/// with (history kept for chat templates; alpaca and plain take one instruction at a time). `/exit` quits.
public sealed class ChatCommand : Command<ChatSettings>
{
    public override int Execute(CommandContext context, ChatSettings s, CancellationToken cancellation)
    {
        if (s.MaxNewTokens < 1) throw new UserException("--max-new-tokens must be at least 1");
        using var loaded = ModelSession.Open(s, out var adapter);
        var tok = loaded.RequireTokenizer();
        var builder = PromptChoice.Resolve(tok, s.Template, raw: false, adapter)
            ?? throw new UserException("chat needs a template: give --template NAME, or an --adapter trained by loralab (it records one)");
        bool multiTurn = builder.Template is ConversationTemplate;
        if (s.System is not null && !multiTurn) throw new UserException($"--system: template '{builder.Template.Name}' has no system message");
        var history = new List<ChatMessage>();
        if (s.System is not null) history.Add(new ChatMessage(ChatMessage.System, s.System));
        var opts = new SamplingOptions { MaxNewTokens = s.MaxNewTokens, Temperature = s.Temperature, Seed = s.Seed, StopIds = builder.StopTokenIds.ToArray() };
        Console.Error.WriteLine($"chat · template {builder.Template.Name} · /exit to quit");
        while (!cancellation.IsCancellationRequested)
        {
            Console.Error.Write("> ");
            var line = Console.In.ReadLine();
            if (line is null || line.Trim() == "/exit") break;
            if (line.Trim().Length == 0) continue;
            var turn = multiTurn ? history.Append(new ChatMessage(ChatMessage.User, line)).ToList() : [new ChatMessage(ChatMessage.User, line)];
            var stream = new TokenStream(tok);
            var result = TextGenerator.Generate(loaded.Model, builder.EncodePrompt(turn), opts, id => Console.Write(stream.Push(id)));
            Console.WriteLine(stream.Flush());
            if (!result.Stopped) Console.Error.WriteLine($"(stopped at --max-new-tokens {s.MaxNewTokens} without an end token)");
            if (multiTurn)
            {
                history = turn;
                history.Add(new ChatMessage(ChatMessage.Assistant, tok.Decode(result.Tokens.Where(t => !opts.StopIds.Contains(t)))));
            }
        }
        return 0;
    }
}
