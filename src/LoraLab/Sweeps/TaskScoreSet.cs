using System.Text.Json.Nodes;
using LoraLab.Evaluation.Tasks;

namespace LoraLab.Sweeps;

/// One model's scores on a sweep's tasks, keyed `<task> <metric>` (`count acc`, `first exact_match`), in task order,
/// as RUN_DIR/eval.json holds them: {"tasks": {key: value}, "stderr": {key: stderr}, "examples": {task: count}}.
public sealed class TaskScoreSet
{
    public const string TasksKey = "tasks", StdErrKey = "stderr", ExamplesKey = "examples";

    readonly List<(string Task, TaskScore Score)> _scores = [];

    public void Add(string task, IEnumerable<TaskScore> scores) { foreach (var s in scores) _scores.Add((task, s)); }

    public static string Key(string task, string metric) => $"{task} {metric}";

    /// `<task> <metric>` → value.
    public IReadOnlyList<(string Key, double Value)> Values => _scores.Select(s => (Key(s.Task, s.Score.Metric), s.Score.Value)).ToList();
    /// `<task> <metric>` → standard error (NaN with fewer than two examples).
    public IReadOnlyList<(string Key, double StdErr)> StdErrs => _scores.Select(s => (Key(s.Task, s.Score.Metric), s.Score.StdErr)).ToList();
    /// Task → examples scored.
    public IReadOnlyList<(string Task, int Count)> Examples => _scores.DistinctBy(s => s.Task).Select(s => (s.Task, s.Score.Count)).ToList();

    public double this[string key] => Values.First(v => v.Key == key).Value;

    /// The eval.json object; a number that is not finite (a standard error of one example) is null.
    public string ToJson()
    {
        static JsonNode? Num(double x) => double.IsFinite(x) ? JsonValue.Create(x) : null;
        var tasks = new JsonObject();
        foreach (var (k, v) in Values) tasks[k] = Num(v);
        var stderr = new JsonObject();
        foreach (var (k, v) in StdErrs) stderr[k] = Num(v);
        var examples = new JsonObject();
        foreach (var (t, n) in Examples) examples[t] = n;
        return new JsonObject { [TasksKey] = tasks, [StdErrKey] = stderr, [ExamplesKey] = examples }.ToJsonString() + "\n";
    }

    /// Written whole: a temporary file beside it, renamed over it, so a reader never sees half of it.
    public void WriteJson(string path)
    {
        IO.AtomicFile.WriteAllText(path, ToJson());
    }
}
