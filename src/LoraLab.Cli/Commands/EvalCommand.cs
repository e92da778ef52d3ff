using System.ComponentModel;
using System.Text.Json;
using LoraLab.Evaluation;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class EvalSettings : AdapterSettings
{
    [CommandOption("--data <FILE>")]
    [Description("JSONL file: one {\"input_ids\": [...]} or {\"text\": \"...\"} per line.")]
    public string? Data { get; set; }

    [CommandOption("--json")]
    [Description("Print exactly one JSON object (loss, perplexity, tokens, sequences) on stdout.")]
    public bool Json { get; set; }
}

/// `loralab eval`: mean next-token loss and perplexity of a model on a file.
public sealed class EvalCommand : Command<EvalSettings>
{
    public override int Execute(CommandContext context, EvalSettings s, CancellationToken cancellation)
    {
        if (string.IsNullOrWhiteSpace(s.Data)) throw new UserException("--data is required (a JSONL file)");
        if (!File.Exists(s.Data)) throw new UserException($"{s.Data}: data file not found");
        using var loaded = ModelSession.Open(s);
        var seqs = EvalData.Load(s.Data, loaded.RequireTokenizer);
        EvalData.CheckVocab(seqs, loaded.Config.VocabSize, s.Data);
        var r = Perplexity.Evaluate(loaded.Model, seqs);
        if (s.Json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { loss = r.Loss, perplexity = r.Perplexity, tokens = r.Tokens, sequences = r.Sequences }));
            return 0;
        }
        var table = new Table().AddColumns("loss", "perplexity", "tokens", "sequences");
        table.AddRow($"{r.Loss:F6}", $"{r.Perplexity:F4}", $"{r.Tokens}", $"{r.Sequences}");
        AnsiConsole.Write(table);
        return 0;
    }
}
