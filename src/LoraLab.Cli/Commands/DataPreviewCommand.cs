using LoraLab.Configuration;
using System.ComponentModel;
using LoraLab.Adapters;
using LoraLab.Data;
using LoraLab.Data.Preferences;
using LoraLab.Tokenization;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class DataPreviewSettings : CommandSettings, LoraLab.Cli.Hub.IOfflineFlag
{
    [CommandOption(SharedFlags.Model)]
    [Description("Model " + SharedFlags.FolderOrHubIdHelp + " whose tokenizer (tokenizer.json or tokenizer.model) training would use (default with --adapter: the base it records).")]
    public string? Model { get; set; }

    [CommandOption(SharedFlags.Offline)]
    [Description(SharedFlags.OfflineHelp)]
    public bool Offline { get; set; }

    [CommandOption("--data <FILE>")]
    [Description("Training data, as for `loralab train --data`.")]
    public string? Data { get; set; }

    [CommandOption("-n|--count <N>")]
    [Description("How many examples to show (from the start of the file).")]
    [DefaultValue(3)]
    public int Count { get; set; } = 3;

    // The settings data preview shares with train: spelt, described and defaulted by RunSettings/RunConfig (the help
    // provider fills in both), so a preview shows what a train run with the same flags would build.
    [CommandOption(RunSettings.TemplateFlag)]
    public string? Template { get; set; }

    [CommandOption(SharedFlags.Adapter)]
    [Description("An adapter (" + SharedFlags.FolderOrHubIdHelp + "): preview with the template (unless --template is given) and BOS policy this adapter was trained with (its loralab_adapter.json).")]
    public string? Adapter { get; set; }

    [CommandOption(RunSettings.MaxSeqLengthFlag)]
    public int? MaxSeqLength { get; set; }

    [CommandOption(RunSettings.LongExamplesFlag)]
    public string? LongExamples { get; set; }

    [CommandOption(LoraLab.Configuration.RunSettings.MaxRecordBytesFlag)] // described and defaulted as train's (help provider)
    public long? MaxRecordBytes { get; set; }

    [CommandOption(LoraLab.Configuration.RunSettings.EncodingErrorsFlag)]
    public string? EncodingErrors { get; set; }

    [CommandOption(RunSettings.TrainOnInputsFlag)]
    public bool? TrainOnInputs { get; set; }

    [CommandOption(LoraLab.Configuration.RunSettings.MaxPromptLengthFlag)]
    [Description("Preference data: a prompt keeps its last N tokens (default: half of --max-seq-length, as TRL's 512 of 1024).")]
    public int? MaxPromptLength { get; set; }
}

/// `loralab data preview`: the first examples exactly as training tokenizes and masks them, coloured by role, with
/// warnings for a doubled BOS, a missing stop token, and examples the length limit truncates or drops. A preference
/// file (its first record has 'chosen' and 'rejected') is shown as pairs instead (PairPreviewOutput).
public sealed class DataPreviewCommand : Command<DataPreviewSettings>
{
    public override int Execute(CommandContext context, DataPreviewSettings s, CancellationToken cancellation)
    {
        const string modelRequired = "--model is required (a model folder or Hub id with a tokenizer)";
        if (string.IsNullOrWhiteSpace(s.Model) && s.Adapter is null) throw new UserException(modelRequired);
        if (string.IsNullOrWhiteSpace(s.Data)) throw new UserException("--data is required (a dataset file)");
        if (s.Count < 1) throw new UserException("-n must be at least 1");
        var read = DataReadOptions.From(s.MaxRecordBytes, s.EncodingErrors);
        bool pairs = PreferenceReader.IsPreferenceFile(s.Data, read);
        if (!pairs && s.MaxPromptLength is not null)
            throw new UserException($"--max-prompt-length: {s.Data} is supervised data, not preference pairs ('prompt', 'chosen', 'rejected')");
        var pairRecords = pairs ? PreferenceReader.Load(s.Data, read) : null;
        var records = pairs ? [] : DatasetReader.Load(s.Data, read);
        var adapterDir = ModelInputs.Adapter(s.Adapter);
        var tok = TokenizerLoader.Load(ModelInputs.Model(s.Model, adapterDir, modelRequired));
        var recorded = adapterDir is null ? null : AdapterProvenance.Read(adapterDir)
            ?? throw new UserException($"{s.Adapter}: no {AdapterProvenance.FileName} (the adapter records no template); use --template");
        // Pairs are checked as `train --method dpo` checks them: the example settings it refuses are refused here too.
        var c = new RunConfig { Method = pairs ? TrainMethod.Dpo : TrainMethod.Lora }.With(new SettingLayer().Flag(RunSettings.Template, s.Template ?? recorded?.Template)
            .Flag(RunSettings.MaxSeqLength, s.MaxSeqLength).Flag(RunSettings.LongExamples, s.LongExamples).Flag(RunSettings.TrainOnInputs, s.TrainOnInputs)
            .Flag(RunSettings.MaxPromptLength, s.MaxPromptLength));
        c.Validate(inputs: false);
        var template = PromptTemplate.Resolve(c.Template, tok.ChatTemplate);
        if (pairRecords is not null)
        {
            var encoder = new PreferenceEncoder(tok, template, c.MaxSeqLength, c.PromptLimit, recorded?.AddBos);
            PairPreviewOutput.Write(encoder, pairRecords, s.Data, s.Count);
            return 0;
        }
        var builder = new ExampleBuilder(tok, template, new ExampleBuilderOptions
        {
            MaxSeqLength = c.MaxSeqLength, LongExamples = c.LongExamples, TrainOnInputs = c.TrainOnInputs, AddBos = recorded?.AddBos,
        });

        bool colour = AnsiConsole.Profile.Capabilities is { Ansi: true, ColorSystem: not ColorSystem.NoColors };
        AnsiConsole.MarkupLine($"template [bold]{template.Name}[/] · BOS {(builder.AddsBos ? "added" : "not added")} · stop ids {string.Join(", ", builder.StopTokenIds)} · max {c.MaxSeqLength} tokens");
        AnsiConsole.MarkupLine(ExampleMarkup.Legend(colour));
        int shown = 0;
        foreach (var record in records.Take(s.Count))
        {
            shown++;
            AnsiConsole.Write(new Rule(Markup.Escape($"example {shown} · {record.Origin}")).LeftJustified());
            ExamplePreview p;
            try { p = DataPreview.Inspect(builder, record); }
            catch (UserException e)
            {
                AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
                continue;
            }
            AnsiConsole.MarkupLine(ExampleMarkup.Render(p, tok, colour));
            AnsiConsole.MarkupLine($"tokens {p.Tokens} · trained {p.Targets} ({(p.Tokens == 0 ? 0 : (double)p.Targets / p.Tokens):P0}) · masked {p.Tokens - p.Targets}" +
                                   (p.Truncated ? $" · truncated from {p.FullLength}" : ""));
            foreach (var w in p.Warnings) AnsiConsole.MarkupLine($"[yellow]warning:[/] {Markup.Escape(w)}");
        }
        Summary(builder, records, s.Data);
        return 0;
    }

    /// The whole file's counts, as training would report them.
    static void Summary(ExampleBuilder builder, IReadOnlyList<Record> records, string data)
    {
        AnsiConsole.Write(new Rule());
        try
        {
            var stats = builder.Build(records, data).Stats;
            AnsiConsole.MarkupLine($"all {records.Count} records: {Markup.Escape(stats.ToString())}");
            if (stats.Dropped > 0 || stats.Truncated > 0)
                AnsiConsole.MarkupLine($"[yellow]warning:[/] {stats.Truncated} examples would be truncated and {stats.Dropped} dropped at max {builder.Options.MaxSeqLength} tokens");
        }
        catch (UserException e) { AnsiConsole.MarkupLine($"[red]error:[/] all {records.Count} records: {Markup.Escape(e.Message)}"); }
    }
}
