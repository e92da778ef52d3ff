using LoraLab.Reporting;
using LoraLab.Sweeps;
using LoraLab.Sweeps.Presets;
using LoraLab.Training;
using Spectre.Console;

namespace LoraLab.Cli.Commands;

/// What the built-in presets' runners share: a sweep file written once into the folder (a folder holding another
/// version is refused, so a resume never mixes settings), in-process steps whose failure leaves their findings
/// inconclusive rather than ending the preset, each finding's loss plot, and the verdict table printed at the end.
abstract class PresetRunner(string name, string outDir)
{
    protected string OutDir { get; } = outDir;
    int _failed;
    /// How many in-process steps failed: the preset then exits 1 after writing its report.
    protected int Failed => _failed;

    /// Refuses a folder whose sweep file differs from the one this preset writes: another scale or another version of
    /// the preset would mix its finished runs into this report.
    protected void RefuseOtherSettings(string file, string yaml)
    {
        var path = Path.Combine(OutDir, file);
        if (File.Exists(path) && File.ReadAllText(path) != yaml)
            throw new UserException($"{OutDir} holds a {name} sweep with other settings ({path} differs: another scale, or another version of the preset); give another --out");
    }

    /// What a preset starts from: the demo assets, base folder and shapes, and its sweep written and expanded.
    protected sealed record PresetStart(string Assets, string BaseDir, Models.ModelConfig Demo, SweepFile Sweep, IReadOnlyList<SweepTask> Tasks,
        List<PlannedRun> Runs, int TrainExamples, int HeldOutExamples);

    /// The preset's first steps: its sweep file from `yamlFor(assets)` (a folder holding another version is refused),
    /// its data from `writeData(assets)`, then the sweep's tasks and runs.
    protected PresetStart Begin(string sweepFile, Func<string, string> yamlFor, Func<string, (int Train, int HeldOut)> writeData)
    {
        var assets = Demo.DemoAssets.Locate();
        var baseDir = Path.GetFullPath(Path.Combine(assets, Demo.DemoAssets.BaseFolder));
        var demo = Models.ModelConfig.Load(Path.Combine(baseDir, "config.json"));
        var yaml = yamlFor(assets);
        RefuseOtherSettings(sweepFile, yaml);
        Directory.CreateDirectory(OutDir);
        var (train, heldOut) = writeData(assets);
        var sweep = WriteSweep(sweepFile, yaml);
        return new PresetStart(assets, baseDir, demo, sweep, SweepTasks.Load(SweepTasks.Entries(sweep)), SweepPlan.Expand(sweep, OutDir), train, heldOut);
    }

    protected SweepFile WriteSweep(string file, string yaml)
    {
        var path = Path.Combine(OutDir, file);
        if (!File.Exists(path) || File.ReadAllText(path) != yaml)
        {
            IO.AtomicFile.WriteAllText(path, yaml);
        }
        return SweepYaml.Load(path);
    }

    /// Runs one in-process step; a failure is printed and written to DIR/<step>.error.txt, and the step's findings
    /// become inconclusive for want of its numbers.
    protected T? Step<T>(string what, Func<T> step) where T : class
    {
        var file = Path.Combine(OutDir, what.Replace(' ', '-') + ".error.txt");
        try
        {
            var result = step();
            if (File.Exists(file)) File.Delete(file); // from a failed try: this one succeeded
            return result;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _failed++;
            IO.AtomicFile.WriteAllText(file, e.ToString());
            Console.Error.WriteLine($"warning: could not {what}: {e.Message.Split('\n')[0]} (details: {file})");
            return null;
        }
    }

    /// Each finding's loss curves (train and validation) over its runs, drawn as `loralab report` draws them.
    protected Dictionary<string, ReportFigure> Figures(IReadOnlyList<Finding> findings)
    {
        var figures = new Dictionary<string, ReportFigure>();
        foreach (var f in findings)
        {
            var dirs = f.Runs.Select(r => Path.Combine(SweepFolder.RunsOf(OutDir), r)).Where(d => File.Exists(Path.Combine(d, RunFolder.Metrics))).ToList();
            if (dirs.Count == 0) continue;
            if (Step($"plot {f.Id}", () => ReportPlots.Draw(RunHistoryReader.ReadAll(dirs))[0]) is { } loss)
                figures[f.Id] = loss with { Title = $"{f.Title}: loss" };
        }
        return figures;
    }

    protected static void Print(IReadOnlyList<Finding> findings)
    {
        var table = new Table().AddColumn("#").AddColumn("finding").AddColumn("verdict");
        for (int i = 0; i < findings.Count; i++)
        {
            var colour = findings[i].Verdict switch { Verdict.Reproduced => "green", Verdict.Contradicted => "red", _ => "grey" };
            table.AddRow($"{i + 1}", Markup.Escape(findings[i].Title), $"[{colour}]{Finding.Name(findings[i].Verdict)}[/]");
        }
        AnsiConsole.Write(table);
    }
}
