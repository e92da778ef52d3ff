using System.Text.RegularExpressions;
using LoraLab.Data;
using LoraLab.Models;
using LoraLab.Tokenization;

namespace LoraLab.Evaluation.Tasks;

/// The task kinds a task file is scored as: multiple choice by log-likelihood, or generation by exact match.
public static class TaskKinds
{
    public const string MultipleChoice = "mc", Generation = "gen";
}

/// A task file and how to read and score it, as `eval --task` takes it (--data, --format, --field, --limit,
/// --answer-regex, --max-new-tokens) and a sweep file's `eval:` entries write it. One place checks it.
public sealed record TaskSpec(string Kind, string Data, string? Format = null, IReadOnlyList<string>? Fields = null, int? Limit = null,
    string? AnswerRegex = null, int MaxNewTokens = GenerationTask.DefaultMaxNewTokens)
{
    /// Checks the options without reading the file: the format, the field overrides, the answer pattern and the token limit.
    public (string Format, TaskFields Fields, Regex? Pattern) Check()
    {
        var format = TaskFormat.Check(Format);
        if (Fields is { Count: > 0 } && format != TaskFormat.Plain) throw new UserException($"--field applies to --format {TaskFormat.Plain} (--format {format} has fixed columns)");
        if (Kind == TaskKinds.MultipleChoice && AnswerRegex is not null) throw new UserException("--answer-regex applies to --task gen");
        SamplingOptions.MaxNewTokensRange.Check("--max-new-tokens", MaxNewTokens);
        TaskFile.CheckLimit(Limit);
        var pattern = GenerationTask.Pattern(AnswerRegex);
        return (format, TaskFields.Parse(Fields), pattern);
    }

    /// Checks, then reads the whole file (every example checked) before any model loads.
    public TaskData Load(DataReadOptions? options = null)
    {
        var (format, fields, pattern) = Check();
        return Kind == TaskKinds.MultipleChoice
            ? new TaskData(TaskFile.LoadChoices(Data, format, fields, Limit, options), null, pattern, MaxNewTokens)
            : new TaskData(null, TaskFile.LoadGeneration(Data, format, fields, Limit, options), pattern, MaxNewTokens);
    }
}

/// A task's examples, read and checked: multiple-choice questions or generation questions, with how to score them.
public sealed record TaskData(IReadOnlyList<ChoiceExample>? Choices, IReadOnlyList<GenerationExample>? Generation, Regex? AnswerPattern, int MaxNewTokens)
{
    public int Count => Choices?.Count ?? Generation!.Count;

    /// acc and acc_norm of multiple choice, or exact_match of generation: with the builder's template, or as
    /// untemplated text without one.
    public IReadOnlyList<TaskScore> Score(CausalLM model, ITokenizer tok, ExampleBuilder? builder, int scoreBatch = LoglikelihoodScorer.DefaultBatchSize)
    {
        if (Choices is not null)
        {
            IRequestEncoder encoder = builder is null ? new PlainTextEncoder(tok) : new TemplateEncoder(builder);
            var r = MultipleChoice.Score(model, encoder, Choices, scoreBatch);
            return [r.Acc, r.AccNorm];
        }
        var encoding = builder is null ? PromptEncoding.Plain(tok) : PromptEncoding.Template(builder);
        return [GenerationTask.Score(model, tok, encoding, Generation!, MaxNewTokens, AnswerPattern).ExactMatch];
    }
}
