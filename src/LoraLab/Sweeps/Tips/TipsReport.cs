using LoraLab.Reporting;
using LoraLab.Sweeps.Presets;

namespace LoraLab.Sweeps.Tips;

/// DIR/tips-report.md (plots beside it in DIR/tips-plots/), DIR/tips-report.html and DIR/tips.json, written by the
/// presets' report writer (PresetReport).
public static class TipsReport
{
    public const string Markdown = "tips-report.md", Html = "tips-report.html", Json = "tips.json", PlotFolder = "tips-plots";
    const string Title = "LoRA findings, re-run in miniature";

    public static void Write(string dir, PresetContext ctx, IReadOnlyList<Finding> findings, IReadOnlyDictionary<string, ReportFigure> figures) =>
        PresetReport.Write(dir, new ReportSpec(Title, Markdown, Html, Json, PlotFolder, [Intro(ctx), Miniature(ctx)], NoiseRule.Text, [], ctx.JsonFields),
            findings, figures);

    static string Intro(PresetContext c) =>
        $"The findings of Sebastian Raschka's \"Practical Tips for Finetuning LLMs Using LoRA\", each re-run on LoraLab's built-in demo model " +
        $"({c.ModelDir}) and data ({c.TrainExamples} training and {c.HeldOutExamples} held-out examples of the demo's instruction tasks), " +
        $"{c.Scale} scale. Every number comes from results.csv and scores.csv in this folder, and every verdict is computed from them " +
        $"by the rule stated with it. Written {c.Date:yyyy-MM-dd} on {c.Machine}: the runs trained for {c.RunSeconds / 60:F1} minutes in all " +
        $"(their wall times, across resumes); this invocation took {c.Seconds / 60:F1} minutes.";

    static string Miniature(PresetContext c) => $"A miniature is not the original: a {c.ModelParameters / 1e6:F1} M-parameter model on rule-based tasks, minutes of training. " +
        "A verdict says whether the claim held here; *contradicted* means it did not hold in this setting, not that it is wrong for 7B models.";
}
