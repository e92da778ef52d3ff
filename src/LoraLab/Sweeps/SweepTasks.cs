using LoraLab.Adapters;
using LoraLab.Configuration;
using LoraLab.Demo;
using LoraLab.ModelFiles;
using LoraLab.Runtime;
using LoraLab.Training;

namespace LoraLab.Sweeps;

/// The tasks a sweep scores its runs on, and the scoring: trained weights loaded in this process, scored on every
/// task, disposed.
public static class SweepTasks
{
    /// The `eval:` entries, or without the key the demo tasks when the sweep's base model is the built-in demo base,
    /// else none.
    public static IReadOnlyList<SweepTaskEntry> Entries(SweepFile file)
    {
        if (file.Eval is not null) return file.Eval;
        var model = file.Base.Has(RunSettings.Model) ? file.Base.ValueOf(RunSettings.Model) as string : null;
        return IsDemoBase(model) ? [new SweepTaskEntry(SweepTaskEntry.DemoKind, null, null, null, null, file.Path)] : [];
    }

    /// Reads every entry's examples (errors name the entry): done before the first run trains.
    public static IReadOnlyList<SweepTask> Load(IReadOnlyList<SweepTaskEntry> entries) => entries.SelectMany(e => e.Load()).ToList();

    /// Whether `model` is the built-in demo base folder (<assets>/demo-base), compared as full paths.
    public static bool IsDemoBase(string? model)
    {
        if (string.IsNullOrWhiteSpace(model)) return false;
        string assets;
        try { assets = DemoAssets.Locate(); }
        catch (UserException) { return false; } // no demo assets here: the model cannot be them
        static string Full(string p) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(p));
        return string.Equals(Full(model), Full(Path.Combine(assets, DemoAssets.BaseFolder)), StringComparison.Ordinal);
    }

    /// Scores a model on the tasks: the base in `baseDir` with the LoRA adapter in `adapterOrModelDir` (a folder with
    /// adapter_config.json), or the full model saved there (any other folder), or the base alone (null). Prompts are
    /// rendered with `template` (as `eval --template`), else the adapter's recorded template, else as plain text.
    /// The model is disposed before this returns.
    public static TaskScoreSet Score(string baseDir, string? adapterOrModelDir, string? template, IReadOnlyList<SweepTask> tasks, LoadOptions? load = null)
    {
        bool adapter = adapterOrModelDir is not null && File.Exists(Path.Combine(adapterOrModelDir, PeftFormat.ConfigFile));
        using var loaded = ModelLoader.Load(adapter || adapterOrModelDir is null ? Hub.ModelSource.Resolve(baseDir) : adapterOrModelDir, load);
        var report = adapter ? AdapterLoading.Load(adapterOrModelDir!, loaded) : null;
        var tok = loaded.RequireTokenizer();
        var builder = ServingTemplate.Builder(tok, template, report?.Provenance, new List<string>());
        var set = new TaskScoreSet();
        foreach (var task in tasks) set.Add(task.Name, task.Data.Score(loaded.Model, tok, builder));
        return set;
    }

    /// Scores a finished run folder's final weights (adapter/ or model/) on its base with its template, on its
    /// device and threads, and writes RUN_DIR/eval.json. Returns the scores.
    public static TaskScoreSet ScoreRun(string runDir, RunConfig run, IReadOnlyList<SweepTask> tasks)
    {
        var weights = Path.Combine(runDir, RunFolder.FinalFolder(Directory.Exists(Path.Combine(runDir, RunFolder.Adapter))));
        TorchRuntime.SetThreads(run.Threads);
        var scores = Score(run.Model!, weights, run.Template, tasks, new LoadOptions { Device = Devices.Resolve(run.Device) });
        scores.WriteJson(Path.Combine(runDir, RunFolder.EvalResult));
        return scores;
    }
}
