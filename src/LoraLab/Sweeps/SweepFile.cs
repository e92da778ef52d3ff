using LoraLab.Configuration;

namespace LoraLab.Sweeps;

/// A sweep file as the user wrote it: `base` settings, `grid` axes (every combination) and explicit `runs`.
public sealed record SweepFile(string Path, SettingLayer Base, IReadOnlyList<GridAxis> Grid, IReadOnlyList<RunOverrides> Runs)
{
    /// The `eval:` tasks; null without the key (SweepTasks.Entries then decides).
    public IReadOnlyList<SweepTaskEntry>? Eval { get; init; }
}

/// One `grid:` key and its values, each kept with the text it was written as (for run names) and where it was written.
public sealed record GridAxis(IRunSetting Setting, IReadOnlyList<GridValue> Values);

public sealed record GridValue(object? Value, string Text, string Origin);

/// One entry of `runs:`: its settings (over `base`), in the order written, and its `name:` when given.
public sealed record RunOverrides(string? Name, SettingLayer Settings, string Origin);
