using System.Globalization;
using YamlDotNet.Serialization.NamingConventions;

namespace LoraLab.Training;

/// run.yaml's account of what ran: with max_steps the step count, not `epochs`, decides how long a run is.
public sealed class RunPlan
{
    public int TotalSteps { get; set; }
    public int StepsPerEpoch { get; set; }
    /// Passes over the training data the steps make (fractional when the last one is cut short).
    public double Epochs { get; set; }
}

/// One `--resume` of a run, kept in run.yaml: where it continued from and the settings it changed (old → new).
public sealed class ResumeRecord
{
    public int Step { get; set; }
    public string From { get; set; } = "";
    public string Time { get; set; } = "";
    public Dictionary<string, string>? Changes { get; set; }
}

/// What run.yaml holds beyond the settings, and which settings a resume may not change silently.
public static class RunRecord
{
    /// Settings that do not change what is learned; every other one (data, base, seed, batch, method and LoRA shape,
    /// schedule, optimizer, ...) is refused on resume without --allow-config-change.
    static readonly HashSet<string> Harmless = new()
    {
        nameof(RunConfig.Out), nameof(RunConfig.Threads), nameof(RunConfig.Device), nameof(RunConfig.LogEvery),
        nameof(RunConfig.SaveEvery), nameof(RunConfig.EvalEvery), nameof(RunConfig.StopRatePrompts), nameof(RunConfig.Streams),
        nameof(RunConfig.SaveTotalLimit), nameof(RunConfig.Ran), nameof(RunConfig.Resumed),
    };

    /// Recorded as full paths, so `--resume RUN_DIR` works from any folder.
    static readonly string[] PathKeys = { nameof(RunConfig.Model), nameof(RunConfig.Data), nameof(RunConfig.ValData), nameof(RunConfig.Out) };

    /// The recorded input paths, checked by InputPaths.
    static readonly string[] InputKeys = { nameof(RunConfig.Model), nameof(RunConfig.Data), nameof(RunConfig.ValData) };

    /// An older run.yaml may hold input paths relative to wherever that run started, which mean nothing from here:
    /// each such path must be given again (in `given`, the --config file and flags), and then replaces it.
    public static void InputPaths(RunConfig recorded, RunConfig given, string yamlPath)
    {
        foreach (var name in InputKeys)
        {
            var p = typeof(RunConfig).GetProperty(name)!;
            if (p.GetValue(recorded) is not string path || Path.IsPathFullyQualified(path)) continue;
            if (p.GetValue(given) is not string again) throw RelativePath(yamlPath, name, path);
            p.SetValue(recorded, again);
        }
    }

    /// A recorded path relative to an unknown folder (see InputPaths); `property` a RunConfig property name.
    public static UserException RelativePath(string yamlPath, string property, string path) =>
        new($"{yamlPath} records a relative {Key(property)} path {path}; pass {RunConfig.FlagName(property)} again");

    static string Key(string property) => UnderscoredNamingConvention.Instance.Apply(property);

    /// The settings that differ between a run's record and its resume, in run.yaml's key order, as (key, old, new).
    public static IReadOnlyList<(string Key, string Old, string New)> Changes(RunConfig recorded, RunConfig resumed)
    {
        var changes = new List<(string, string, string)>();
        foreach (var p in typeof(RunConfig).GetProperties().Where(p => !Harmless.Contains(p.Name)))
        {
            object? a = Normal(p.Name, p.GetValue(recorded)), b = Normal(p.Name, p.GetValue(resumed));
            if (p.Name == nameof(RunConfig.Template) && IsAuto(b)) b = a; // run.yaml holds what `auto` resolved to
            if (!Equals(a, b)) changes.Add((Key(p.Name), Show(a), Show(b)));
        }
        return changes;
    }

    public static string Refusal(string runDir, IReadOnlyList<(string Key, string Old, string New)> changes) =>
        $"{Path.Combine(runDir, RunFolder.RunYaml)}: resuming with these settings changed would not continue the same run: " +
        string.Join(", ", changes.Select(c => $"{c.Key}: {c.Old} → {c.New}")) +
        "; leave them out, or pass --allow-config-change to apply them (they are recorded in run.yaml)";

    public static ResumeRecord Resume(int step, string checkpoint, IReadOnlyList<(string Key, string Old, string New)> changes) => new()
    {
        Step = step, From = Path.GetFullPath(checkpoint), Time = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        Changes = changes.Count == 0 ? null : changes.ToDictionary(c => c.Key, c => $"{c.Old} → {c.New}"),
    };

    /// The config as run.yaml records it: full paths, the computed plan, and the resume history with `resumed` added.
    public static RunConfig ForYaml(RunConfig c, Trainer trainer, ResumeRecord? resumed)
    {
        var r = c.Overlay(new RunConfig());
        foreach (var name in PathKeys)
        {
            var p = typeof(RunConfig).GetProperty(name)!;
            if (p.GetValue(r) is string s) p.SetValue(r, Path.GetFullPath(s));
        }
        r.Ran = new RunPlan
        {
            TotalSteps = trainer.TotalSteps, StepsPerEpoch = trainer.StepsPerEpoch,
            Epochs = Math.Round((double)trainer.TotalSteps / Math.Max(1, trainer.StepsPerEpoch), 3),
        };
        if (resumed is not null) r.Resumed = (c.Resumed ?? new List<ResumeRecord>()).Append(resumed).ToList();
        return r;
    }

    static bool IsAuto(object? template) => template is string t && t.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase);

    static object? Normal(string property, object? v) => PathKeys.Contains(property) && v is string s ? Path.GetFullPath(s) : v;

    static string Show(object? v) => v switch
    {
        null => "(unset)",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString()!,
    };
}
