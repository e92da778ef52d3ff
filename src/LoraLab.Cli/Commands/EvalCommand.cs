using System.ComponentModel;
using System.Text.Json;
using LoraLab.Data;
using LoraLab.Evaluation;
using LoraLab.Evaluation.Tasks;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class EvalSettings : ModelSettings
{
    [CommandOption(SharedFlags.Adapter)]
    [Description("PEFT LoRA adapter " + SharedFlags.FolderOrHubIdHelp + " applied on top of --model. With --task, repeat it to score several side by side; 'none' is the base alone.")]
    public string[] Adapters { get; set; } = [];

    /// The one adapter of a loss evaluation (null for none).
    public string? Adapter
    {
        get => Adapters.Length == 0 || TaskColumn.IsNone(Adapters[0]) ? null : Adapters[0];
        set => Adapters = value is null ? [] : [value];
    }

    [CommandOption("--task <KIND>")]
    [Description("Score a benchmark task instead of the loss: mc (multiple choice by log-likelihood, acc and acc_norm), gen (greedy generation, exact match) or dpo (preference pairs: DPO loss and rewards of base + adapter against the base). The task file is --data (JSON Lines or Parquet); a hub --format implies mc.")]
    public string? Task { get; set; }

    [CommandOption("--format <NAME>")]
    [Description("Task file layout: jsonl (context, choices, gold / prompt, answer), mmlu, arc, hellaswag, truthfulqa-mc1 (the Hugging Face Hub datasets' columns). Default: jsonl.")]
    public string? Format { get; set; }

    [CommandOption("--field <FIELD=COLUMN>")]
    [Description("For --format jsonl: read a field from another column, e.g. --field context=question --field gold=label (repeatable).")]
    public string[] Fields { get; set; } = [];

    [CommandOption("--limit <N>")]
    [Description("Score only the first N examples of the task file.")]
    public int? Limit { get; set; }

    [CommandOption("--answer-regex <PATTERN>")]
    [Description("--task gen: the prediction is the first capture group of this pattern's first match in the reply (default: the reply's first line), compared with the answer after trimming.")]
    public string? AnswerRegex { get; set; }

    [CommandOption("--max-new-tokens <N>")]
    [Description("--task gen: the most tokens generated per reply (greedy; a stop token ends it sooner).")]
    [DefaultValue(GenerationTask.DefaultMaxNewTokens)]
    public int MaxNewTokens { get; set; } = GenerationTask.DefaultMaxNewTokens;

    [CommandOption(LoraLab.Configuration.RunSettings.BetaFlag)]
    [Description("--task dpo: DPO's beta; the rewards are beta x the log-probability ratio of adapter to base. Default: the run's beta with --run, else train's default (0.1).")]
    public double? Beta { get; set; }

    [CommandOption("--score-batch <N>")]
    [Description("--task mc: choices scored per forward pass; --task dpo: pairs per forward pass (padded on the right; the scores are those of one at a time).")]
    [DefaultValue(LoglikelihoodScorer.DefaultBatchSize)]
    public int ScoreBatch { get; set; } = LoglikelihoodScorer.DefaultBatchSize;

    [CommandOption("--data <FILE>")]
    [Description("JSONL file: one {\"input_ids\": [[...]]} or {\"text\": \"...\"} per line; or instruction/chat data (Alpaca, messages) scored on the responses when a template applies.")]
    public string? Data { get; set; }

    [CommandOption("--template <NAME>")]
    [Description("Render instruction/chat data with this template and score the response tokens (default: the adapter's recorded template). With --task: the template each model's prompts are rendered with (default: each adapter's own; plain text for the base).")]
    public string? Template { get; set; }

    [CommandOption("--raw")]
    [Description("Ignore the adapter's recorded template: score text / input_ids records in full (with --task: plain-text prompts for every model).")]
    public bool Raw { get; set; }

    [CommandOption("--run <DIR>")]
    [Description("A `loralab train` output folder: score its adapter (or full model) on its val.jsonl with its base and template; --model, --adapter, --data and --template override.")]
    public string? Run { get; set; }

    [CommandOption(LoraLab.Configuration.RunSettings.MaxRecordBytesFlag)] // described and defaulted as train's (help provider)
    public long? MaxRecordBytes { get; set; }

    [CommandOption(LoraLab.Configuration.RunSettings.EncodingErrorsFlag)]
    public string? EncodingErrors { get; set; }

    [CommandOption("--json")]
    [Description("Print exactly one JSON object (loss, perplexity, tokens, sequences, template; with --task: the scores of each adapter) on stdout.")]
    public bool Json { get; set; }

    public DataReadOptions ReadOptions => DataReadOptions.From(MaxRecordBytes, EncodingErrors);
}

/// `loralab eval`: mean next-token loss and perplexity of a model on a file. Instruction data is rendered with the
/// template the adapter was trained with, so the number is the one training reported as validation loss.
/// With --task (or a hub --format) it scores a benchmark task instead (EvalTaskRunner).
public sealed class EvalCommand : Command<EvalSettings>
{
    public override int Execute(CommandContext context, EvalSettings s, CancellationToken cancellation)
    {
        if (EvalTaskRunner.Kind(s) is { } task) return EvalTaskRunner.Run(s, task);
        if (s.Beta is not null) throw new UserException("--beta applies to --task dpo (and to `eval --run` of a preference run)");
        if (s.Adapters.Length > 1)
            throw new UserException("several --adapter values are compared on a task: give --task mc|gen (the loss is of one model)");
        // A full fine-tune's recorded template: kept apart from --template, as it applies only where it can.
        var recordedTemplate = s.Run is null ? null : FromRun(s);
        if (string.IsNullOrWhiteSpace(s.Data)) throw new UserException("--data is required (a JSONL file)");
        if (!File.Exists(s.Data)) throw new UserException($"{s.Data}: data file not found");
        _ = s.ReadOptions; // bad values fail before the model loads
        using var loaded = ModelSession.Open(s, s.Adapter, out var adapter);
        var templated = Templated(s, loaded, adapter, recordedTemplate);
        EvalResult r;
        if (templated is not null) r = Perplexity.Evaluate(loaded.Model, templated.Value.Examples);
        else
        {
            var seqs = EvalData.Load(s.Data, loaded.RequireTokenizer, s.ReadOptions);
            EvalData.CheckVocab(seqs, loaded.Config.VocabSize, s.Data);
            r = Perplexity.Evaluate(loaded.Model, seqs);
        }
        string? template = templated?.Template;
        if (s.Json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { loss = r.Loss, perplexity = r.Perplexity, tokens = r.Tokens, sequences = r.Sequences, template }));
            return 0;
        }
        var table = new Table().AddColumns("loss", "perplexity", "tokens", "sequences", "scored");
        table.AddRow($"{r.Loss:F6}", $"{r.Perplexity:F4}", $"{r.Tokens}", $"{r.Sequences}",
            template is null ? "all tokens" : Markup.Escape($"responses, template '{template}'"));
        AnsiConsole.Write(table);
        return 0;
    }

    /// --run RUN_DIR: the base, weights and held-out data that run recorded, where not given explicitly. Returns the
    /// template a full fine-tune recorded (an adapter carries its own).
    static string? FromRun(EvalSettings s)
    {
        var yaml = Path.Combine(s.Run!, LoraLab.Training.RunFolder.RunYaml);
        if (!File.Exists(yaml)) throw new UserException($"{s.Run}: not a training run folder ({LoraLab.Training.RunFolder.RunYaml} missing)");
        var run = LoraLab.Configuration.RunConfig.LoadYaml(yaml);
        string adapter = Path.Combine(s.Run!, LoraLab.Training.RunFolder.Adapter), model = Path.Combine(s.Run!, LoraLab.Training.RunFolder.Model);
        string? template = null;
        if (Directory.Exists(adapter))
        {
            if (s.Model is null && run.Model is { } recorded && !Path.IsPathFullyQualified(recorded) && LoraLab.Hub.HubRepoId.TryParse(recorded) is null)
                throw LoraLab.Training.RunRecord.RelativePath(yaml, LoraLab.Configuration.RunSettings.Model, recorded);
            s.Model ??= run.Model; s.Adapter ??= adapter;
        }
        else if (Directory.Exists(model)) { s.Model ??= model; template = run.Template; }
        else throw new UserException($"{s.Run}: the run has no adapter/ or model/ yet (it finishes them at its end; `loralab train --resume {s.Run}` completes it)");
        var val = Path.Combine(s.Run!, LoraLab.Training.RunFolder.Validation);
        if (s.Data is null && !File.Exists(val))
            throw new UserException($"{val}: not found (the run held out no validation data); give --data FILE");
        s.Data ??= val;
        return template;
    }

    /// Instruction/chat records built with the chosen template, or null when no template applies. A recorded template
    /// (the adapter's or the run's) is skipped for text / input_ids files; an explicit --template on them is an error.
    static (IReadOnlyList<TokenizedExample> Examples, string Template)? Templated(EvalSettings s, LoraLab.ModelFiles.LoadedModel loaded,
        LoraLab.Adapters.AdapterLoadReport? adapter, string? recordedTemplate)
    {
        if (s.Raw && s.Template is not null) throw new UserException("give --template NAME or --raw, not both");
        if (s.Raw || (s.Template is null && recordedTemplate is null && adapter?.Provenance is null)) return null;
        IReadOnlyList<Record> records;
        try { records = DatasetReader.Load(s.Data!, s.ReadOptions); }
        catch (UserException) when (s.Template is null) { return null; }   // an eval-only format: scored in full below
        if (!records.All(r => r is AlpacaRecord or ChatRecord))
        {
            if (s.Template is not null) throw new UserException($"{s.Data}: --template applies to instruction or chat records (this file has text or input_ids records)");
            return null;
        }
        var builder = PromptChoice.Resolve(loaded.RequireTokenizer(), s.Template ?? recordedTemplate, raw: false, adapter)!;
        var built = builder.Build(records, s.Data);
        return (built.Examples, builder.Template.Name);
    }
}
