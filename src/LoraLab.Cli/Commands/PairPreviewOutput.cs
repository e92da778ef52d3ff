using LoraLab.Data;
using LoraLab.Data.Preferences;
using Spectre.Console;

namespace LoraLab.Cli.Commands;

/// `data preview` of a preference file: the first pairs as training tokenizes them (prompt masked, both completions
/// trained), their token counts and warnings, then the whole file's counts as the run's log states them.
static class PairPreviewOutput
{
    public static void Write(PreferenceEncoder encoder, IReadOnlyList<PreferenceRecord> records, string data, int count)
    {
        var tok = encoder.Tokenizer;
        bool colour = AnsiConsole.Profile.Capabilities is { Ansi: true, ColorSystem: not ColorSystem.NoColors };
        AnsiConsole.MarkupLine($"preference pairs · template [bold]{encoder.Template.Name}[/] · BOS {(encoder.AddsBos ? "added" : "not added")} · EOS {tok.EosId} after each completion · " +
                               $"max prompt {encoder.MaxPromptLength} tokens · max {encoder.MaxSeqLength} tokens");
        AnsiConsole.MarkupLine(ExampleMarkup.Legend(colour));
        int shown = 0;
        foreach (var record in records.Take(count))
        {
            shown++;
            AnsiConsole.Write(new Rule(Markup.Escape($"pair {shown} · {record.Origin}")).LeftJustified());
            PairPreview p;
            try { p = PairPreview.Inspect(encoder, record); }
            catch (UserException e)
            {
                AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
                continue;
            }
            AnsiConsole.MarkupLine($"prompt ({Count(p.Prompt.Length, p.FullPrompt)}, masked): " + ExampleMarkup.Render([new TokenRun(p.Prompt, false)], tok, colour));
            AnsiConsole.MarkupLine($"chosen ({Count(p.Chosen.Length, p.FullChosen)}): " + ExampleMarkup.Render([new TokenRun(p.Chosen, true)], tok, colour));
            AnsiConsole.MarkupLine($"rejected ({Count(p.Rejected.Length, p.FullRejected)}): " + ExampleMarkup.Render([new TokenRun(p.Rejected, true)], tok, colour));
            foreach (var w in p.Warnings) AnsiConsole.MarkupLine($"[yellow]warning:[/] {Markup.Escape(w)}");
        }
        AnsiConsole.Write(new Rule());
        try
        {
            var set = encoder.Encode(records, data);
            AnsiConsole.MarkupLine($"all {records.Count} records: {Markup.Escape(set.TruncationNote)}");
        }
        catch (UserException e) { AnsiConsole.MarkupLine($"[red]error:[/] all {records.Count} records: {Markup.Escape(e.Message)}"); }
    }

    static string Count(int shown, int full) => shown == full ? $"{shown} tokens" : $"{shown} tokens, cut from {full}";
}
