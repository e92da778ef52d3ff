using LoraLab.Configuration;
using LoraLab.Evaluation.Tasks;
using LoraLab.Runtime;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace LoraLab.Sweeps;

/// A sweep file's `eval:` list: `demo`, or mappings `{task: demo|mc|gen, name:, data:, format:, field: {context:
/// question}, limit:, answer_regex:, max_new_tokens:}` with the meaning of `eval --task`'s flags (TaskSpec checks
/// them). Errors name the file, the line and the key.
static class SweepEvalYaml
{
    const string TaskKey = "task", NameKey = "name", DataKey = "data", FormatKey = "format", FieldKey = "field", LimitKey = "limit",
        AnswerRegexKey = "answer_regex", MaxNewTokensKey = "max_new_tokens";
    static readonly string[] Keys = [TaskKey, NameKey, DataKey, FormatKey, FieldKey, LimitKey, AnswerRegexKey, MaxNewTokensKey];
    static readonly string[] DemoKeys = [TaskKey, LimitKey, MaxNewTokensKey];
    static readonly string[] Kinds = [SweepTaskEntry.DemoKind, TaskKinds.MultipleChoice, TaskKinds.Generation];

    public static List<SweepTaskEntry> Read(IParser parser, string path, long line)
    {
        string where = $"{path}:{line}: {SweepYaml.EvalKey}";
        if (!parser.TryConsume<SequenceStart>(out _))
            throw new UserException($"{where}: expected a list of tasks (- demo, or - {{task: mc, name: NAME, data: FILE}})");
        var entries = new List<SweepTaskEntry>();
        var names = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        while (!parser.TryConsume<SequenceEnd>(out _))
        {
            var at = parser.Current!.Start.Line;
            var entry = parser.TryConsume<Scalar>(out var s)
                ? s.Value == SweepTaskEntry.DemoKind ? new SweepTaskEntry(SweepTaskEntry.DemoKind, null, null, null, null, $"{path}:{at}")
                    : throw new UserException($"{path}:{at}: {SweepYaml.EvalKey}: '{s.Value}': a task is {SweepTaskEntry.DemoKind} or a mapping with {TaskKey}: {string.Join("|", Kinds)}")
                : Entry(parser, path, at);
            foreach (var name in entry.TaskNames)
            {
                if (names.TryGetValue(name, out var first))
                    throw new UserException($"{path}:{at}: {SweepYaml.EvalKey}: the task name '{name}' is used twice (first at line {first}; the demo tasks are named {DemoWorldTasks.CountTask}, {DemoWorldTasks.FirstTask} and {DemoWorldTasks.RepeatTask})");
                names[name] = at;
            }
            entries.Add(entry);
        }
        return entries;
    }

    static SweepTaskEntry Entry(IParser parser, string path, long at)
    {
        if (!parser.TryConsume<MappingStart>(out _))
            throw new UserException($"{path}:{at}: {SweepYaml.EvalKey}: a task is {SweepTaskEntry.DemoKind} or a mapping with {TaskKey}: {string.Join("|", Kinds)}");
        var values = new Dictionary<string, (string Text, long Line)>();
        var fields = new List<string>();
        while (!parser.Accept<MappingEnd>(out _))
        {
            var (key, line) = RunConfigYaml.Key(parser, path);
            string where = $"{path}:{line}: {SweepYaml.EvalKey}: {key}";
            if (!Keys.Contains(key))
                throw new UserException($"{path}:{line}: {SweepYaml.EvalKey}: unknown key '{key}'" + (ClosestName.For(key, Keys) is { } near ? $" (did you mean '{near}'?)" : $" (a task has {string.Join(", ", Keys)})"));
            if (values.TryGetValue(key, out var first)) throw new UserException($"{path}:{line}: {SweepYaml.EvalKey}: duplicate key '{key}' (first at line {first.Line})");
            if (key == FieldKey)
            {
                if (!parser.TryConsume<MappingStart>(out _)) throw new UserException($"{where}: expected a mapping of field → column ({{context: question}})");
                while (!parser.TryConsume<MappingEnd>(out _))
                {
                    if (!parser.TryConsume<Scalar>(out var f) || !parser.TryConsume<Scalar>(out var column))
                        throw new UserException($"{where}: expected a mapping of field → column ({{context: question}})");
                    fields.Add($"{f.Value}={column.Value}");
                }
                values[key] = ("", line);
                continue;
            }
            if (!parser.TryConsume<Scalar>(out var v) || v.Value == "")
            {
                parser.SkipThisAndNestedEvents();
                throw new UserException($"{where}: expected a value");
            }
            values[key] = (v.Value, line);
        }
        parser.Consume<MappingEnd>();

        string? Text(string key) => values.TryGetValue(key, out var v) ? v.Text : null;
        int? Number(string key)
        {
            if (!values.TryGetValue(key, out var v)) return null;
            return int.TryParse(v.Text, out var n) ? n : throw new UserException($"{path}:{v.Line}: {SweepYaml.EvalKey}: {key}: expected a whole number, got '{v.Text}'");
        }
        var kind = Text(TaskKey) ?? throw new UserException($"{path}:{at}: {SweepYaml.EvalKey}: {TaskKey}: missing ({string.Join("|", Kinds)})");
        if (!Kinds.Contains(kind)) throw new UserException($"{path}:{values[TaskKey].Line}: {SweepYaml.EvalKey}: {TaskKey}: '{kind}' is not a task kind ({string.Join("|", Kinds)})");
        int? limit = Number(LimitKey), maxNewTokens = Number(MaxNewTokensKey);
        try
        {
            if (kind == SweepTaskEntry.DemoKind)
            {
                if (values.Keys.FirstOrDefault(k => !DemoKeys.Contains(k)) is { } other)
                    throw new UserException($"{path}:{values[other].Line}: {SweepYaml.EvalKey}: {other}: applies to {TaskKinds.MultipleChoice} and {TaskKinds.Generation} tasks (the demo tasks take {LimitKey} and {MaxNewTokensKey})");
                TaskFile.CheckLimit(limit);
                Evaluation.SamplingOptions.MaxNewTokensRange.Check("--max-new-tokens", maxNewTokens);
                return new SweepTaskEntry(kind, null, null, limit, maxNewTokens, $"{path}:{at}");
            }
            foreach (var required in new[] { NameKey, DataKey })
                if (!values.ContainsKey(required)) throw new UserException($"{path}:{at}: {SweepYaml.EvalKey}: {required}: missing (a {kind} task needs {NameKey}: and {DataKey}:)");
            var name = Text(NameKey)!;
            if (RunNames.Unsafe(name) is { } why) throw new UserException($"{path}:{values[NameKey].Line}: {SweepYaml.EvalKey}: {NameKey}: '{name}' {why}");
            var spec = new TaskSpec(kind, Text(DataKey)!, Text(FormatKey), fields, limit, Text(AnswerRegexKey), maxNewTokens ?? GenerationTask.DefaultMaxNewTokens);
            spec.Check();
            return new SweepTaskEntry(kind, name, spec, limit, maxNewTokens, $"{path}:{at}");
        }
        catch (UserException e) when (!e.Message.StartsWith(path + ":", StringComparison.Ordinal))
        {
            throw new UserException($"{path}:{at}: {SweepYaml.EvalKey}: {e.Message}");
        }
    }
}
