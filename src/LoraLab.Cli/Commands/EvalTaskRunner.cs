using System.Text.Json;
using LoraLab.Data;
using LoraLab.Evaluation.Tasks;
using Spectre.Console;

namespace LoraLab.Cli.Commands;

/// `loralab eval --task mc|gen`: one task file scored by each --adapter in turn (each on a freshly loaded base, so
/// nothing of one adapter stays in the next), printed side by side with a standard error per score.
public static class EvalTaskRunner
{
    public const string MultipleChoice = "mc", Generation = "gen";

    /// The task kind, or null for the loss evaluation (no --task and no hub --format).
    public static string? Kind(EvalSettings s)
    {
        if (s.Task is null)
        {
            if (s.Format is not null && TaskFormat.Check(s.Format) != TaskFormat.Plain) return MultipleChoice;
            if (s.Format is not null || s.Fields.Length > 0 || s.Limit is not null || s.AnswerRegex is not null)
                throw new UserException("--format, --field, --limit and --answer-regex apply to a task: give --task mc|gen");
            return null;
        }
        var kind = s.Task.Trim().ToLowerInvariant();
        return kind is MultipleChoice or Generation ? kind : throw new UserException($"--task {s.Task}: unknown task kind (mc or gen)");
    }

    public static int Run(EvalSettings s, string kind)
    {
        if (s.Run is not null) throw new UserException("--run scores a run's validation loss; with --task give --model, --adapter and --data");
        if (string.IsNullOrWhiteSpace(s.Data)) throw new UserException("--data is required (the task file: JSON Lines or Parquet)");
        var format = TaskFormat.Check(s.Format);
        if (s.Fields.Length > 0 && format != TaskFormat.Plain) throw new UserException($"--field applies to --format {TaskFormat.Plain} (--format {format} has fixed columns)");
        if (kind == MultipleChoice && s.AnswerRegex is not null) throw new UserException("--answer-regex applies to --task gen");
        if (s.ScoreBatch < 1) throw new UserException($"--score-batch must be at least 1 (got {s.ScoreBatch})");
        Evaluation.SamplingOptions.MaxNewTokensRange.Check("--max-new-tokens", s.MaxNewTokens);
        var pattern = GenerationTask.Pattern(s.AnswerRegex);
        var fields = TaskFields.Parse(s.Fields);
        // the whole file is read and checked before any model loads
        var choices = kind == MultipleChoice ? TaskFile.LoadChoices(s.Data, format, fields, s.Limit, s.ReadOptions) : null;
        var generation = kind == Generation ? TaskFile.LoadGeneration(s.Data, format, fields, s.Limit, s.ReadOptions) : null;
        int count = choices?.Count ?? generation!.Count;

        var columns = new List<TaskColumn>();
        foreach (var adapter in s.Adapters.Length == 0 ? [TaskColumn.None] : s.Adapters)
        {
            using var loaded = ModelSession.Open(s, TaskColumn.IsNone(adapter) ? null : adapter, out var report);
            var tok = loaded.RequireTokenizer();
            var builder = PromptChoice.Resolve(tok, s.Template, s.Raw, report);
            IReadOnlyList<TaskScore> scores;
            if (choices is not null)
            {
                IRequestEncoder encoder = builder is null ? new PlainTextEncoder(tok) : new TemplateEncoder(builder);
                var r = Evaluation.Tasks.MultipleChoice.Score(loaded.Model, encoder, choices, s.ScoreBatch);
                scores = [r.Acc, r.AccNorm];
            }
            else
            {
                var encoding = builder is null ? PromptEncoding.Plain(tok) : PromptEncoding.Template(builder);
                scores = [GenerationTask.Score(loaded.Model, tok, encoding, generation!, s.MaxNewTokens, pattern).ExactMatch];
            }
            columns.Add(new TaskColumn(TaskColumn.IsNone(adapter) ? TaskColumn.None : adapter, builder?.Template.Name, scores));
        }

        if (s.Json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                task = kind, data = s.Data, format, examples = count,
                results = columns.Select(c => new
                {
                    adapter = c.Adapter, template = c.Template,
                    scores = c.Scores.ToDictionary(x => x.Metric, x => new { value = Finite(x.Value), stderr = Finite(x.StdErr) }),
                }),
            }));
            return 0;
        }
        AnsiConsole.Write(TaskTable.Build($"{Path.GetFileName(s.Data)}: {count} examples", columns));
        return 0;
    }

    static double? Finite(double x) => double.IsFinite(x) ? x : null;
}
