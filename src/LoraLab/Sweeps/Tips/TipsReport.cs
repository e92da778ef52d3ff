using System.Net;
using System.Text;
using System.Text.Json;
using LoraLab.Reporting;

namespace LoraLab.Sweeps.Tips;

/// What the report says about the run as a whole: scale, machine, time and data.
/// Seconds: this invocation's; RunSeconds: the training time of every run (the sum of their wall times), across resumes.
public sealed record TipsContext(TipsScale Scale, string Machine, DateTime Date, double Seconds, double RunSeconds, int TrainExamples,
    int HeldOutExamples, string ModelDir, long ModelParameters);

/// DIR/tips-report.md (plots beside it in DIR/tips-plots/), DIR/tips-report.html (self-contained: plots inlined) and
/// DIR/tips.json (every finding's table, verdict and reason, for tools), each written whole (temporary file, renamed).
public static class TipsReport
{
    public const string Markdown = "tips-report.md", Html = "tips-report.html", Json = "tips.json", PlotFolder = "tips-plots";
    const string Title = "LoRA findings, re-run in miniature";

    public static void Write(string dir, TipsContext ctx, IReadOnlyList<Finding> findings, IReadOnlyDictionary<string, ReportFigure> figures)
    {
        var plots = Directory.CreateDirectory(Path.Combine(dir, PlotFolder)).FullName;
        foreach (var (id, f) in figures)
        {
            IO.AtomicFile.WriteAllBytes(Path.Combine(plots, id + ".png"), f.Png);
        }
        IO.AtomicFile.WriteAllText(Path.Combine(dir, Markdown), ToMarkdown(ctx, findings, figures));
        IO.AtomicFile.WriteAllText(Path.Combine(dir, Html), ToHtml(ctx, findings, figures));
        IO.AtomicFile.WriteAllText(Path.Combine(dir, Json), JsonSerializer.Serialize(new
        {
            scale = ctx.Scale.Name, machine = ctx.Machine, date = ctx.Date.ToString("yyyy-MM-dd"), seconds = ctx.Seconds, run_seconds = ctx.RunSeconds, rule = NoiseRule.Text,
            findings = findings.Select(f => new { id = f.Id, title = f.Title, claim = f.Claim, rule = f.Rule, verdict = Finding.Name(f.Verdict), why = f.Why, measured = f.Measured, header = f.Header, rows = f.Rows, runs = f.Runs }),
        }, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    static string Intro(TipsContext c) =>
        $"The findings of Sebastian Raschka's \"Practical Tips for Finetuning LLMs Using LoRA\", each re-run on LoraLab's built-in demo model " +
        $"({c.ModelDir}) and data ({c.TrainExamples} training and {c.HeldOutExamples} held-out examples of the demo's instruction tasks), " +
        $"{c.Scale.Name} scale. Every number comes from results.csv and scores.csv in this folder, and every verdict is computed from them " +
        $"by the rule stated with it. Written {c.Date:yyyy-MM-dd} on {c.Machine}: the runs trained for {c.RunSeconds / 60:F1} minutes in all " +
        $"(their wall times, across resumes); this invocation took {c.Seconds / 60:F1} minutes.";

    static string Miniature(TipsContext c) => $"A miniature is not the original: a {c.ModelParameters / 1e6:F1} M-parameter model on rule-based tasks, minutes of training. " +
        "A verdict says whether the claim held here; *contradicted* means it did not hold in this setting, not that it is wrong for 7B models.";

    static string ToMarkdown(TipsContext ctx, IReadOnlyList<Finding> findings, IReadOnlyDictionary<string, ReportFigure> figures)
    {
        var md = new StringBuilder($"# {Title}\n\n{Intro(ctx)}\n\n{Miniature(ctx)}\n\n");
        md.Append($"**How a difference counts.** {NoiseRule.Text}\n\n");
        md.Append("## Verdicts\n\n").Append(MarkdownTable.Of(["#", "finding", "verdict"], findings.Select((f, i) =>
            (IReadOnlyList<string>)[$"{i + 1}", f.Title, Finding.Name(f.Verdict) + (f.Measured ? "" : " (estimate, not measured)")])));
        for (int i = 0; i < findings.Count; i++)
        {
            var f = findings[i];
            md.Append($"\n## {i + 1}. {f.Title}\n\n> {f.Claim}\n\n");
            md.Append(MarkdownTable.Of(f.Header, f.Rows));
            md.Append($"\n**Rule.** {f.Rule}\n\n**Verdict: {Finding.Name(f.Verdict)}.** {f.Why}.\n");
            if (f.Runs.Count > 0) md.Append($"\nRuns: {string.Join(", ", f.Runs.Select(r => $"`{r}`"))}.\n");
            if (figures.TryGetValue(f.Id, out var fig)) md.Append($"\n![{fig.Title}]({PlotFolder}/{f.Id}.png)\n");
        }
        return md.ToString();
    }

    static string ToHtml(TipsContext ctx, IReadOnlyList<Finding> findings, IReadOnlyDictionary<string, ReportFigure> figures)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        static string Badge(Verdict v) => $"<span class=\"{Finding.Name(v)}\">{Finding.Name(v)}</span>";
        var h = new StringBuilder($"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{Title}</title>\n<style>\n")
            .Append("body { font-family: sans-serif; margin: 2em; max-width: 70em; }\n")
            .Append("table { border-collapse: collapse; margin: 0.5em 0; }\nth, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }\n")
            .Append("th:first-child, td:first-child { text-align: left; }\nblockquote { color: #444; border-left: 4px solid #ccc; margin-left: 0; padding-left: 1em; }\n")
            .Append(".reproduced { color: #fff; background: #2a7d2a; } .contradicted { color: #fff; background: #b03030; } .inconclusive { background: #ddd; }\n")
            .Append("span.reproduced, span.contradicted, span.inconclusive { padding: 0.1em 0.5em; border-radius: 0.3em; }\nimg { max-width: 100%; }\n</style>\n</head>\n<body>\n");
        h.Append($"<h1>{Title}</h1>\n<p>{E(Intro(ctx))}</p>\n<p>{E(Miniature(ctx))}</p>\n<p><b>How a difference counts.</b> {E(NoiseRule.Text)}</p>\n");
        h.Append("<h2>Verdicts</h2>\n<table>\n<tr><th>#</th><th>finding</th><th>verdict</th></tr>\n");
        for (int i = 0; i < findings.Count; i++)
            h.Append($"<tr><td>{i + 1}</td><td><a href=\"#{findings[i].Id}\">{E(findings[i].Title)}</a></td><td>{Badge(findings[i].Verdict)}{(findings[i].Measured ? "" : " (estimate)")}</td></tr>\n");
        h.Append("</table>\n");
        for (int i = 0; i < findings.Count; i++)
        {
            var f = findings[i];
            h.Append($"<h2 id=\"{f.Id}\">{i + 1}. {E(f.Title)}</h2>\n<blockquote>{E(f.Claim)}</blockquote>\n<table>\n<tr>");
            foreach (var c in f.Header) h.Append($"<th>{E(c)}</th>");
            h.Append("</tr>\n");
            foreach (var row in f.Rows) h.Append("<tr>").Append(string.Concat(row.Select(c => $"<td>{E(c)}</td>"))).Append("</tr>\n");
            h.Append($"</table>\n<p><b>Rule.</b> {E(f.Rule)}</p>\n<p><b>Verdict:</b> {Badge(f.Verdict)} {E(f.Why)}.</p>\n");
            if (figures.TryGetValue(f.Id, out var fig))
                h.Append($"<img alt=\"{E(fig.Title)}\" src=\"data:image/png;base64,{Convert.ToBase64String(fig.Png)}\">\n");
        }
        return h.Append("</body>\n</html>\n").ToString();
    }
}
