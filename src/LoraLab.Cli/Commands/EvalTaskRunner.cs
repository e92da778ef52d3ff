using System.Text.Json;
using LoraLab.Data;
using LoraLab.Evaluation.Tasks;
using Spectre.Console;

namespace LoraLab.Cli.Commands;

/// `loralab eval --task mc|gen`: one task file scored by each --adapter in turn (each on a freshly loaded base, so
/// nothing of one adapter stays in the next), printed side by side with a standard error per score.
public static class EvalTaskRunner
{
    public const string MultipleChoice = TaskKinds.MultipleChoice, Generation = TaskKinds.Generation;

    /// The task kind, or null for the loss evaluation (no --task and no hub --format).
    public static string? Kind(EvalSettings s)
    {
        if (s.Task is null)
        {
            if (s.Run is not null && PreferenceRun(s.Run) is not null) return PreferenceTask.Kind; // a DPO/ORPO run is scored on its pairs
            if (s.Format is not null && TaskFormat.Check(s.Format) != TaskFormat.Plain) return MultipleChoice;
            if (s.Format is not null || s.Fields.Length > 0 || s.Limit is not null || s.AnswerRegex is not null)
                throw new UserException("--format, --field, --limit and --answer-regex apply to a task: give --task mc|gen");
            return null;
        }
        var kind = s.Task.Trim().ToLowerInvariant();
        return kind is MultipleChoice or Generation or PreferenceTask.Kind ? kind : throw new UserException($"--task {s.Task}: unknown task kind (mc, gen or dpo)");
    }

    public static int Run(EvalSettings s, string kind)
    {
        if (kind == PreferenceTask.Kind && s.Run is not null) FromPreferenceRun(s);
        if (s.Run is not null) throw new UserException("--run scores a run's validation loss; with --task give --model, --adapter and --data");
        if (string.IsNullOrWhiteSpace(s.Data)) throw new UserException("--data is required (the task file: JSON Lines or Parquet)");
        if (s.ScoreBatch < 1) throw new UserException($"--score-batch must be at least 1 (got {s.ScoreBatch})");
        if (kind == PreferenceTask.Kind) return RunPreference(s);
        if (s.Beta is not null) throw new UserException("--beta applies to --task dpo");
        // the whole file is read and checked before any model loads
        var task = new TaskSpec(kind, s.Data, s.Format, s.Fields, s.Limit, s.AnswerRegex, s.MaxNewTokens).Load(s.ReadOptions);
        var (format, count) = (TaskFormat.Check(s.Format), task.Count);

        var columns = new List<TaskColumn>();
        foreach (var adapter in s.Adapters.Length == 0 ? [TaskColumn.None] : s.Adapters)
        {
            using var loaded = ModelSession.Open(s, TaskColumn.IsNone(adapter) ? null : adapter, out var report);
            var tok = loaded.RequireTokenizer();
            var builder = PromptChoice.Resolve(tok, s.Template, s.Raw, report);
            var scores = task.Score(loaded.Model, tok, builder, s.ScoreBatch);
            columns.Add(new TaskColumn(TaskColumn.IsNone(adapter) ? TaskColumn.None : adapter, builder?.Template.Name, scores));
        }

        if (s.Json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { task = kind, data = s.Data, format, examples = count, results = Results(columns) }));
            return 0;
        }
        AnsiConsole.Write(TaskTable.Build($"{Path.GetFileName(s.Data)}: {count} examples", columns));
        return 0;
    }

    static double? Finite(double x) => double.IsFinite(x) ? x : null;

    /// Each model's scores as --json prints them: adapter, template, and every score's value and standard error.
    static IEnumerable<object> Results(IEnumerable<TaskColumn> columns) => columns.Select(c => new
    {
        adapter = c.Adapter, template = c.Template,
        scores = c.Scores.ToDictionary(x => x.Metric, x => new { value = Finite(x.Value), stderr = Finite(x.StdErr) }),
    });

    /// The run.yaml of a preference run (dpo, orpo) in `runDir`; null for any other folder.
    static LoraLab.Configuration.RunConfig? PreferenceRun(string runDir)
    {
        var yaml = Path.Combine(runDir, LoraLab.Training.RunFolder.RunYaml);
        if (!File.Exists(yaml)) return null;
        var c = LoraLab.Configuration.RunConfig.LoadYaml(yaml);
        return c.IsPreference ? c : null;
    }

    /// `eval --run RUN` of a preference run: its base, adapter, held-out pairs and beta, where not given.
    static void FromPreferenceRun(EvalSettings s)
    {
        var run = PreferenceRun(s.Run!) ?? throw new UserException($"{s.Run}: --task dpo with --run needs a preference run (--method dpo or orpo)");
        var adapter = Path.Combine(s.Run!, LoraLab.Training.RunFolder.Adapter);
        if (!Directory.Exists(adapter)) throw new UserException($"{s.Run}: the run has no adapter/ yet (`loralab train --resume {s.Run}` completes it)");
        var val = Path.Combine(s.Run!, LoraLab.Training.RunFolder.Validation);
        if (s.Data is null && !File.Exists(val)) throw new UserException($"{val}: not found (the run held out no pairs); give --data FILE");
        s.Model ??= run.Model;
        if (s.Adapters.Length == 0) s.Adapters = [adapter];
        s.Data ??= val;
        if (run.Method == LoraLab.Configuration.TrainMethod.Dpo) s.Beta ??= run.Beta;
        else Console.Error.WriteLine($"note: {s.Run} is an ORPO run (no reference, no beta); it is scored as DPO against its base at beta {s.Beta ?? new LoraLab.Configuration.RunConfig().Beta}");
        s.Run = null;
    }

    /// `--task dpo`: the pairs file read and checked before any model loads, then each adapter against its base.
    static int RunPreference(EvalSettings s)
    {
        if (s.Format is not null || s.Fields.Length > 0 || s.AnswerRegex is not null)
            throw new UserException("--format, --field and --answer-regex apply to --task mc|gen (a preference file has prompt, chosen and rejected)");
        double beta = s.Beta ?? new LoraLab.Configuration.RunConfig().Beta;
        if (!(beta > 0) || !double.IsFinite(beta)) throw new UserException($"--beta must be a finite number above 0 (got {beta})");
        if (!File.Exists(s.Data)) throw new UserException($"{s.Data}: data file not found");
        if (!LoraLab.Data.Preferences.PreferenceReader.IsPreferenceFile(s.Data!, s.ReadOptions))
            throw new UserException($"{s.Data}: --task dpo scores preference pairs (prompt, chosen, rejected), and this file's first record is not one");
        var records = LoraLab.Data.Preferences.PreferenceReader.Load(s.Data!, s.ReadOptions);
        if (s.Limit is int limit) records = records.Take(Math.Max(0, limit)).ToList();
        var columns = new List<TaskColumn>();
        foreach (var adapter in s.Adapters.Length == 0 ? [TaskColumn.None] : s.Adapters)
        {
            using var loaded = ModelSession.Open(s, TaskColumn.IsNone(adapter) ? null : adapter, out var report);
            var tok = loaded.RequireTokenizer();
            var template = PromptChoice.Resolve(tok, s.Template, s.Raw, report)?.Template ?? PromptTemplate.Get("plain");
            var scores = PreferenceTask.Score(loaded.Model, tok, template, records, beta, s.Data!, s.ScoreBatch);
            columns.Add(new TaskColumn(TaskColumn.IsNone(adapter) ? TaskColumn.None : adapter, template.Name, scores));
        }
        if (s.Json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { task = PreferenceTask.Kind, data = s.Data, beta, examples = records.Count, results = Results(columns) }));
            return 0;
        }
        AnsiConsole.Write(TaskTable.Build($"{Path.GetFileName(s.Data)}: {records.Count} pairs, beta {beta}", columns));
        return 0;
    }
}
