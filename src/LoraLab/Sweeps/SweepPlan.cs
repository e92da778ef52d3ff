using LoraLab.Configuration;
using LoraLab.Runtime;

namespace LoraLab.Sweeps;

/// One run of a sweep: its place in the whole sweep (0-based), folder name, the settings it varies (as written) and
/// its validated config (defaults ← base ← its overrides, out = DIR/runs/<name>).
public sealed record PlannedRun(int Index, string Name, IReadOnlyList<(string Key, string Value)> Varied, RunConfig Config);

/// Expands a sweep file into its runs, in order: the grid's combinations first (the first grid key varying slowest,
/// as nested loops in the order written), then the explicit `runs:` entries, each over `base` alone.
/// Every run is validated as `train` validates it (model, data and out required, every range and rule) before any
/// starts, so a typo fails the sweep at once rather than hours in; whether the model and data files exist is left to
/// the run (a sweep may be planned on a machine that does not hold them).
public static class SweepPlan
{
    public static List<PlannedRun> Expand(SweepFile file, string outDir)
    {
        var drafts = new List<(string? Name, string Origin, List<(IRunSetting Setting, string Text)> Varied, SettingLayer Layer)>();
        foreach (var point in Combinations(file.Grid))
        {
            var layer = new SettingLayer();
            foreach (var (axis, v) in point) layer.Add(axis.Setting, v.Value, v.Origin);
            drafts.Add((null, point.Count > 0 ? point[0].Value.Origin : file.Path, point.Select(p => (p.Axis.Setting, p.Value.Text)).ToList(), layer));
        }
        foreach (var run in file.Runs)
            drafts.Add((run.Name, run.Origin, run.Settings.Settings.Select(s => (s, s.Format(run.Settings.ValueOf(s)) ?? "none")).ToList(), run.Settings));

        var given = drafts.Where(d => d.Name is not null).GroupBy(d => d.Name!, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (given is not null) throw new UserException($"{given.Skip(1).First().Origin}: {SweepYaml.NameKey}: '{given.Key}' is used by two runs");
        var names = RunNames.MakeUnique(drafts.Select(d => (d.Name ?? RunNames.Derive(d.Varied), d.Name is not null)).ToList());

        var planned = new List<PlannedRun>();
        for (int i = 0; i < drafts.Count; i++)
        {
            var out_ = new SettingLayer().Add(RunSettings.Out, Path.Combine(SweepFolder.RunsOf(outDir), names[i]), "--out");
            var config = new RunConfig().With(file.Base, drafts[i].Layer, out_);
            try { config.Validate(); }
            catch (UserException e) { throw new UserException($"run '{names[i]}' ({drafts[i].Origin}): {e.Message}"); }
            planned.Add(new PlannedRun(i, names[i], drafts[i].Varied.Select(v => (v.Setting.Key, v.Text)).ToList(), config));
        }
        return planned;
    }

    /// Every combination of the axes' values, the last axis varying fastest; one empty combination without axes
    /// only when there are no explicit runs either (SweepYaml refuses that), so here: none.
    static IEnumerable<List<(GridAxis Axis, GridValue Value)>> Combinations(IReadOnlyList<GridAxis> axes)
    {
        if (axes.Count == 0) yield break;
        var index = new int[axes.Count];
        while (true)
        {
            yield return axes.Select((a, k) => (a, a.Values[index[k]])).ToList();
            int j = axes.Count - 1;
            while (j >= 0 && ++index[j] == axes[j].Values.Count) index[j--] = 0;
            if (j < 0) yield break;
        }
    }
}
