using System.Net;
using System.Text;
using System.Text.Json;
using LoraLab.Reporting;

namespace LoraLab.Sweeps.Presets;

/// A table a report prints before its verdicts (the noise floor, every run's numbers): not a finding, no verdict.
public sealed record ReportSection(string Id, string Title, string Text, IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows);

/// What a preset's report says besides its findings: its title and file names, the paragraphs before the verdicts,
/// the rule by which a difference counts, tables shown before the verdicts, and the JSON file's leading fields.
public sealed record ReportSpec(string Title, string Markdown, string Html, string Json, string PlotFolder, IReadOnlyList<string> Paragraphs,
    string NoiseText, IReadOnlyList<ReportSection> Sections, IReadOnlyList<KeyValuePair<string, object>> JsonFields);

/// A preset's report: DIR/<Markdown> (plots beside it in DIR/<PlotFolder>/), DIR/<Html> (self-contained: plots
/// inlined) and DIR/<Json> (every finding's table, verdict and reason, for tools), each written whole (temporary file,
/// renamed).
public static class PresetReport
{
    public static void Write(string dir, ReportSpec spec, IReadOnlyList<Finding> findings, IReadOnlyDictionary<string, ReportFigure> figures)
    {
        var plots = Directory.CreateDirectory(Path.Combine(dir, spec.PlotFolder)).FullName;
        foreach (var (id, f) in figures)
        {
            IO.AtomicFile.WriteAllBytes(Path.Combine(plots, id + ".png"), f.Png);
        }
        IO.AtomicFile.WriteAllText(Path.Combine(dir, spec.Markdown), ToMarkdown(spec, findings, figures));
        IO.AtomicFile.WriteAllText(Path.Combine(dir, spec.Html), ToHtml(spec, findings, figures));
        var json = new Dictionary<string, object>(spec.JsonFields) { ["rule"] = spec.NoiseText };
        if (spec.Sections.Count > 0)
            json["sections"] = spec.Sections.Select(s => new { id = s.Id, title = s.Title, text = s.Text, header = s.Header, rows = s.Rows });
        json["findings"] = findings.Select(f => new { id = f.Id, title = f.Title, claim = f.Claim, rule = f.Rule, verdict = Finding.Name(f.Verdict), why = f.Why, measured = f.Measured, header = f.Header, rows = f.Rows, runs = f.Runs });
        IO.AtomicFile.WriteAllText(Path.Combine(dir, spec.Json), JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    static string ToMarkdown(ReportSpec spec, IReadOnlyList<Finding> findings, IReadOnlyDictionary<string, ReportFigure> figures)
    {
        var md = new StringBuilder($"# {spec.Title}\n\n");
        foreach (var p in spec.Paragraphs) md.Append(p).Append("\n\n");
        md.Append($"**How a difference counts.** {spec.NoiseText}\n\n");
        foreach (var s in spec.Sections) md.Append($"## {s.Title}\n\n{s.Text}\n\n").Append(MarkdownTable.Of(s.Header, s.Rows)).Append('\n');
        md.Append("## Verdicts\n\n").Append(MarkdownTable.Of(["#", "finding", "verdict"], findings.Select((f, i) =>
            (IReadOnlyList<string>)[$"{i + 1}", f.Title, Finding.Name(f.Verdict) + (f.Measured ? "" : " (estimate, not measured)")])));
        for (int i = 0; i < findings.Count; i++)
        {
            var f = findings[i];
            md.Append($"\n## {i + 1}. {f.Title}\n\n> {f.Claim}\n\n");
            md.Append(MarkdownTable.Of(f.Header, f.Rows));
            md.Append($"\n**Rule.** {f.Rule}\n\n**Verdict: {Finding.Name(f.Verdict)}.** {f.Why}.\n");
            if (f.Runs.Count > 0) md.Append($"\nRuns: {string.Join(", ", f.Runs.Select(r => $"`{r}`"))}.\n");
            if (figures.TryGetValue(f.Id, out var fig)) md.Append($"\n![{fig.Title}]({spec.PlotFolder}/{f.Id}.png)\n");
        }
        return md.ToString();
    }

    static string ToHtml(ReportSpec spec, IReadOnlyList<Finding> findings, IReadOnlyDictionary<string, ReportFigure> figures)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        static string Badge(Verdict v) => $"<span class=\"{Finding.Name(v)}\">{Finding.Name(v)}</span>";
        static void Table(StringBuilder h, IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
        {
            h.Append("<table>\n<tr>");
            foreach (var c in header) h.Append($"<th>{E(c)}</th>");
            h.Append("</tr>\n");
            foreach (var row in rows) h.Append("<tr>").Append(string.Concat(row.Select(c => $"<td>{E(c)}</td>"))).Append("</tr>\n");
            h.Append("</table>\n");
        }
        var h = new StringBuilder($"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{E(spec.Title)}</title>\n<style>\n")
            .Append("body { font-family: sans-serif; margin: 2em; max-width: 70em; }\n")
            .Append("table { border-collapse: collapse; margin: 0.5em 0; }\nth, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }\n")
            .Append("th:first-child, td:first-child { text-align: left; }\nblockquote { color: #444; border-left: 4px solid #ccc; margin-left: 0; padding-left: 1em; }\n")
            .Append(".reproduced { color: #fff; background: #2a7d2a; } .contradicted { color: #fff; background: #b03030; } .inconclusive { background: #ddd; }\n")
            .Append("span.reproduced, span.contradicted, span.inconclusive { padding: 0.1em 0.5em; border-radius: 0.3em; }\nimg { max-width: 100%; }\n</style>\n</head>\n<body>\n");
        h.Append($"<h1>{E(spec.Title)}</h1>\n");
        foreach (var p in spec.Paragraphs) h.Append($"<p>{E(p)}</p>\n");
        h.Append($"<p><b>How a difference counts.</b> {E(spec.NoiseText)}</p>\n");
        foreach (var s in spec.Sections)
        {
            h.Append($"<h2 id=\"{s.Id}\">{E(s.Title)}</h2>\n<p>{E(s.Text)}</p>\n");
            Table(h, s.Header, s.Rows);
        }
        h.Append("<h2>Verdicts</h2>\n<table>\n<tr><th>#</th><th>finding</th><th>verdict</th></tr>\n");
        for (int i = 0; i < findings.Count; i++)
            h.Append($"<tr><td>{i + 1}</td><td><a href=\"#{findings[i].Id}\">{E(findings[i].Title)}</a></td><td>{Badge(findings[i].Verdict)}{(findings[i].Measured ? "" : " (estimate)")}</td></tr>\n");
        h.Append("</table>\n");
        for (int i = 0; i < findings.Count; i++)
        {
            var f = findings[i];
            h.Append($"<h2 id=\"{f.Id}\">{i + 1}. {E(f.Title)}</h2>\n<blockquote>{E(f.Claim)}</blockquote>\n");
            Table(h, f.Header, f.Rows);
            h.Append($"<p><b>Rule.</b> {E(f.Rule)}</p>\n<p><b>Verdict:</b> {Badge(f.Verdict)} {E(f.Why)}.</p>\n");
            if (figures.TryGetValue(f.Id, out var fig))
                h.Append($"<img alt=\"{E(fig.Title)}\" src=\"data:image/png;base64,{Convert.ToBase64String(fig.Png)}\">\n");
        }
        return h.Append("</body>\n</html>\n").ToString();
    }
}
