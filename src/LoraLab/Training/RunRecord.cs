using System.Globalization;
using LoraLab.Configuration;

namespace LoraLab.Training;

/// run.yaml's account of what ran: with max_steps the step count, not `epochs`, decides how long a run is.
public sealed class RunPlan
{
    public int TotalSteps { get; set; }
    public int StepsPerEpoch { get; set; }
    /// Passes over the training data the steps make (fractional when the last one is cut short).
    public double Epochs { get; set; }
    /// The dtype the run computed in and why, e.g. `fp32 (auto: bf16 products measured 0.62x fp32's rate here ...)`.
    public string? Precision { get; set; }
}

/// One `--resume` of a run, kept in run.yaml: where it continued from and the settings it changed (old → new).
public sealed class ResumeRecord
{
    public int Step { get; set; }
    public string From { get; set; } = "";
    public string Time { get; set; } = "";
    public Dictionary<string, string>? Changes { get; set; }
}

/// What run.yaml holds beyond the settings, and which settings a resume may not change silently (those that change
/// what is learned: RunSettings' ChangesLearning).
public static class RunRecord
{
    /// The recorded input paths, checked by InputPaths.
    static readonly IRunSetting[] Inputs = { RunSettings.Model, RunSettings.Data, RunSettings.ValData };

    /// An older run.yaml may hold input paths relative to wherever that run started, which mean nothing from here:
    /// each such path must be given again (in `given`, the --config file and flags), and then replaces it.
    public static void InputPaths(RunConfig recorded, SettingLayer given, string yamlPath)
    {
        foreach (var s in Inputs)
        {
            if (s.Get(recorded) is not string path || Path.IsPathFullyQualified(path) || HubValued(s) && Hub.HubRepoId.TryParse(path) is not null) continue;
            if (given.ValueOf(s) is not string again) throw RelativePath(yamlPath, s, path);
            s.Set(recorded, again);
        }
    }

    /// The settings whose value may be a Hugging Face Hub repo id instead of a folder.
    static bool HubValued(IRunSetting s) => s == RunSettings.Model || s == RunSettings.RefAdapter;

    /// A path setting's value as run.yaml records and messages show it: in full, but a Hub repo id as given (the
    /// snapshot folder it resolves to changes with the cache and the revision).
    public static string FullPath(IRunSetting s, string value) =>
        HubValued(s) && Hub.ModelSource.HubRepo(value) is not null ? value : Path.GetFullPath(value);

    /// A recorded path relative to an unknown folder (see InputPaths).
    public static UserException RelativePath(string yamlPath, IRunSetting setting, string path) =>
        new($"{yamlPath} records a relative {setting.Key} path {path}; pass {setting.Flag} again");

    /// The settings that differ between a run's record and its resume, in run.yaml's key order, as (key, old, new).
    public static IReadOnlyList<(string Key, string Old, string New)> Changes(RunConfig recorded, RunConfig resumed)
    {
        var changes = new List<(string, string, string)>();
        foreach (var s in RunSettings.All.Where(s => s.ChangesLearning))
        {
            string a = Show(s, recorded), b = Show(s, resumed);
            if (s == RunSettings.Template && IsAuto(resumed.Template)) b = a; // run.yaml holds what `auto` resolved to
            if (a != b) changes.Add((s.Key, a, b));
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
        var r = c.Clone();
        foreach (var s in RunSettings.All.Where(s => s.IsPath))
            if (s.Get(r) is string path) s.Set(r, FullPath(s, path));
        r.Ran = new RunPlan
        {
            TotalSteps = trainer.TotalSteps, StepsPerEpoch = trainer.StepsPerEpoch,
            Epochs = Math.Round((double)trainer.TotalSteps / Math.Max(1, trainer.StepsPerEpoch), 3),
            Precision = RunSetup.Precision(c, trainer.Device, Runtime.ProbeShape.Of(trainer.ModelConfig)).ToString(),
        };
        if (resumed is not null) r.Resumed = (c.Resumed ?? new List<ResumeRecord>()).Append(resumed).ToList();
        return r;
    }

    static bool IsAuto(string template) => template.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase);

    /// The value as messages show it; paths in full, so `data.jsonl` and its full path are the same setting.
    static string Show(IRunSetting s, RunConfig c) => s.Get(c) switch
    {
        null => "(unset)",
        string path when s.IsPath => FullPath(s, path),
        var v => s.Format(v)!,
    };
}
