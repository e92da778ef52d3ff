using LoraLab.Evaluation.Tasks;

namespace LoraLab.Sweeps;

/// One entry of a sweep file's `eval:` list as written and checked: the demo tasks (Spec null; Limit and
/// MaxNewTokens their own) or a task file (Spec). Origin is `file:line` for errors found when the file is read.
public sealed record SweepTaskEntry(string Kind, string? Name, TaskSpec? Spec, int? Limit, int? MaxNewTokens, string Origin)
{
    public const string DemoKind = "demo";

    /// The names its scores are keyed by: the demo's two tasks, or its name.
    public IReadOnlyList<string> TaskNames => Spec is null ? [DemoWorldTasks.CountTask, DemoWorldTasks.FirstTask, DemoWorldTasks.RepeatTask] : [Name!];

    /// Reads its examples (the task file, or the demo's held-out file); an error names the entry.
    public IReadOnlyList<SweepTask> Load()
    {
        try
        {
            return Spec is null ? SweepTask.Demo(Limit, MaxNewTokens ?? DemoWorldTasks.MaxNewTokens) : [SweepTask.FromFile(Name!, Spec)];
        }
        catch (UserException e) { throw new UserException($"{Origin}: {SweepYaml.EvalKey}: {e.Message}"); }
    }
}
