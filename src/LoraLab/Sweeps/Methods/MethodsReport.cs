using System.Globalization;
using LoraLab.Reporting;
using LoraLab.Sweeps.Presets;

namespace LoraLab.Sweeps.Methods;

/// DIR/methods-report.md (plots beside it in DIR/methods-plots/), DIR/methods-report.html and DIR/methods.json,
/// written by the presets' report writer (PresetReport).
public static class MethodsReport
{
    public const string Markdown = "methods-report.md", Html = "methods-report.html", Json = "methods.json", PlotFolder = "methods-plots";
    const string Title = "Beyond plain LoRA: each method's claim, re-run in miniature";

    public static void Write(string dir, PresetContext ctx, MethodsScale scale, IReadOnlyList<ReportSection> sections, IReadOnlyList<Finding> findings,
        IReadOnlyDictionary<string, ReportFigure> figures) =>
        PresetReport.Write(dir, new ReportSpec(Title, Markdown, Html, Json, PlotFolder, [Intro(ctx, scale), Miniature(ctx)], MethodsFindings.NoiseText, sections, ctx.JsonFields),
            findings, figures);

    static string Num(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);

    static string Intro(PresetContext c, MethodsScale s) =>
        $"LoRA against DoRA, PiSSA, LoRA+ and ReLoRA, and GaLore against full fine-tuning, each trained on LoraLab's built-in demo model ({c.ModelDir}) " +
        $"with the same data ({c.TrainExamples} training and {c.HeldOutExamples} held-out examples of the demo's instruction tasks), batches ({s.BatchSize}) " +
        $"and steps ({s.Steps}), {c.Scale} scale. The LoRA family (LoRA, DoRA, PiSSA, LoRA+, ReLoRA) trains rank {MethodsPlan.R}, alpha {Num(2 * MethodsPlan.R)}, " +
        $"on every linear layer at learning rate {Num(MethodsPlan.LoraLr)} (LoRA+: B at {Num(MethodsPlan.LoraplusRatio)} ×; ReLoRA: a restart every " +
        $"{MethodsPlan.ReloraEvery(s)} steps); full fine-tuning at {Num(MethodsPlan.FullLr)}; GaLore at {Num(MethodsPlan.GaloreLr)} with scale " +
        $"{Num(MethodsPlan.GaloreScale)} and rank hidden_size / 4 (each rate measured once on the demo: src/LoraLab/Sweeps/Methods/MethodsPlan.cs says why). " +
        $"Every number comes from results.csv and methods.csv in this folder, and every verdict is computed from them by the rule stated with it. " +
        $"Written {c.Date:yyyy-MM-dd} on {c.Machine}: the runs trained for {c.RunSeconds / 60:F1} minutes in all (their wall times, across resumes); " +
        $"this invocation took {c.Seconds / 60:F1} minutes.";

    static string Miniature(PresetContext c) => $"A miniature is not the papers' setting: a {c.ModelParameters / 1e6:F1} M-parameter model on rule-based tasks, " +
        "minutes of training, where the papers fine-tuned (and for ReLoRA and GaLore pre-trained) models of hundreds of millions to billions of parameters. " +
        "A verdict says whether the claim held here; *contradicted* means it did not hold in this setting, not that the paper is wrong.";
}
