using System.Diagnostics;
using LoraLab.Demo;
using LoraLab.Models;
using LoraLab.Runtime;
using LoraLab.Sweeps;
using LoraLab.Sweeps.Methods;
using LoraLab.Sweeps.Presets;

namespace LoraLab.Cli.Commands;

/// `loralab sweep --preset methods`: writes the preset's data and sweep file into DIR, runs it as any sweep (so a
/// second invocation resumes it), reads what the findings need of each run beyond results.csv into DIR/methods.csv
/// (early and late train loss, optimizer state, the merged models' update ranks), and judges each paper's claim into
/// DIR/methods-report.md, .html and methods.json. A step that fails in this process is reported and leaves its
/// findings inconclusive; the report is written all the same.
sealed class MethodsPresetRunner(string outDir, MethodsScale scale) : PresetRunner(Name, outDir)
{
    public const string Name = "methods";

    public int Run(CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var (assets, baseDir, demo, sweep, tasks, runs, trainExamples, heldOutExamples) =
            Begin(MethodsPlan.SweepFile, a => MethodsPlan.SweepYaml(OutDir, scale, a), a => MethodsPlan.WriteData(OutDir, scale, a));
        Console.WriteLine($"loralab sweep --preset {Name} ({scale.Name}): {runs.Count} runs of {scale.Steps} steps into {OutDir}");
        int code = new SweepRunner(OutDir, tasks).RunAll(runs, cancellation);
        var rows = SweepResults.Write(OutDir);
        if (code == 130) return code;

        // a failed measurement leaves no methods.csv behind: the last invocation's numbers may be of other runs
        if (Step("measure the runs", () => { MethodsMeasures.Write(OutDir, rows, baseDir); return this; }) is null)
            File.Delete(Path.Combine(OutDir, MethodsMeasures.Csv));
        var judge = new MethodsFindings(SweepNumbers.Read(OutDir, MethodsMeasures.Csv), scale);
        var findings = judge.All();
        var ctx = new PresetContext(scale.Name, MachineDescription.Describe(), DateTime.UtcNow, clock.Elapsed.TotalSeconds,
            rows.Sum(r => r.History?.WallSeconds ?? 0), trainExamples, heldOutExamples, baseDir, ModelShapes.TotalParameters(demo));
        MethodsReport.Write(OutDir, ctx, scale, judge.Sections(), findings, Figures(findings));
        Print(findings);
        Console.WriteLine($"report: {Path.Combine(OutDir, MethodsReport.Markdown)} and {MethodsReport.Html} ({clock.Elapsed.TotalMinutes:F1} min)");
        return Failed > 0 ? Math.Max(code, 1) : code;
    }
}
