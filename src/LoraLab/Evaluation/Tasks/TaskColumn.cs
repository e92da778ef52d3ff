namespace LoraLab.Evaluation.Tasks;

/// One model's scores on a task: a column of the side-by-side table. Adapter is the folder, or "none" for the base.
public sealed record TaskColumn(string Adapter, string? Template, IReadOnlyList<TaskScore> Scores)
{
    public const string None = "none";
    public static bool IsNone(string adapter) => string.Equals(adapter.Trim(), None, StringComparison.OrdinalIgnoreCase);
}
