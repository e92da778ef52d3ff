using System.ComponentModel;
using LoraLab.Evaluation;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class GenerateSettings : SamplingSettings
{
    [CommandOption("--prompt <TEXT>")]
    [Description("The prompt. With a template (--template, or the one an --adapter was trained with) it is the user's instruction, rendered as in training; otherwise raw text (BOS as the tokenizer config says).")]
    public string? Prompt { get; set; }

    [CommandOption("--input <TEXT>")]
    [Description("Context for the instruction (Alpaca's 'input'); needs a template.")]
    public string? Input { get; set; }

    [CommandOption("--template <NAME>")]
    [Description("Render --prompt with this template: alpaca, chatml, llama2-chat, llama3, plain (default: the adapter's recorded template).")]
    public string? Template { get; set; }

    [CommandOption("--raw")]
    [Description("Send --prompt untemplated, even when the adapter records a template.")]
    public bool Raw { get; set; }

    [CommandOption("--prompt-ids <IDS>")]
    [Description("The prompt as comma-separated token ids (for models without a tokenizer); output is printed as ids.")]
    public string? PromptIds { get; set; }

    [CommandOption(SharedFlags.MaxNewTokens)]
    [Description(SharedFlags.MaxNewTokensHelp)]
    [DefaultValue(128)]
    public int MaxNewTokens { get; set; } = 128;

    public override Spectre.Console.ValidationResult Validate()
    {
        SamplingOptions.MaxNewTokensRange.Check("--max-new-tokens", MaxNewTokens);
        return base.Validate();
    }
}

/// `loralab generate`: streams a continuation of the prompt, stopping at EOS.
public sealed class GenerateCommand : Command<GenerateSettings>
{
    public override int Execute(CommandContext context, GenerateSettings s, CancellationToken cancellation)
    {
        if ((s.Prompt is null) == (s.PromptIds is null)) throw new UserException("give exactly one of --prompt TEXT or --prompt-ids IDS");
        using var loaded = ModelSession.Open(s, out var adapter);
        var opts = s.Sampling(s.MaxNewTokens);
        if (s.PromptIds is not null)
        {
            var ids = ParseIds(s.PromptIds, loaded.Config.VocabSize);
            // the adapter's recorded stop ids include its template's end-of-turn token
            opts = opts with { StopIds = adapter?.Provenance is { StopIds.Count: > 0 } p ? p.StopIds.ToArray() : loaded.EosId is int e1 ? new[] { e1 } : Array.Empty<int>() };
            var r = TextGenerator.Generate(loaded.Model, ids, opts, id => Console.Write(id + " "));
            Console.WriteLine();
            return 0;
        }
        var tok = loaded.RequireTokenizer();
        var builder = PromptChoice.Resolve(tok, s.Template, s.Raw, adapter);
        if (builder is null && s.Input is not null) throw new UserException("--input needs a template (--template NAME, or an adapter that records one)");
        IReadOnlyList<int> prompt;
        if (builder is not null)
        {
            prompt = builder.EncodePrompt(s.Prompt!, s.Input);
            opts = opts with { StopIds = builder.StopTokenIds.ToArray() };
        }
        else
        {
            prompt = tok.Encode(s.Prompt!, addBos: tok.AddBosByDefault);
            opts = opts with { StopIds = loaded.EosId is int e ? new[] { e } : Array.Empty<int>() };
        }
        var stream = new TokenStream(tok);
        TextGenerator.Generate(loaded.Model, prompt, opts, id => Console.Write(stream.Push(id)));
        Console.WriteLine(stream.Flush());
        return 0;
    }

    static int[] ParseIds(string text, int vocab)
    {
        var parts = text.Split(new[] { ',', ' ' }, StringSplitOptions.RemoveEmptyEntries);
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out ids[i]) || ids[i] < 0 || ids[i] >= vocab)
                throw new UserException($"--prompt-ids: '{parts[i]}' is not a token id in [0, {vocab})");
        return ids;
    }
}
