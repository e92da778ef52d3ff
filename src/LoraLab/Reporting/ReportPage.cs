using System.Net;
using System.Text;

namespace LoraLab.Reporting;

/// A plot of the report as PNG bytes, saved as `FileName` beside report.md.
public sealed record ReportFigure(string Title, string FileName, byte[] Png);

/// Writes a report into a folder: report.md (the table, the plots as the PNG files beside it) and report.html,
/// which holds the same with every PNG inlined as a data URI, so the one file can be mailed or archived alone.
public static class ReportPage
{
    public const string Markdown = "report.md", Html = "report.html";
    const string Title = "LoraLab training report";

    public static void Write(string dir, IReadOnlyList<RunHistory> runs, ReportTable table, IReadOnlyList<ReportFigure> figures)
    {
        foreach (var f in figures) File.WriteAllBytes(Path.Combine(dir, f.FileName), f.Png);
        File.WriteAllText(Path.Combine(dir, Markdown), ToMarkdown(runs, table, figures));
        File.WriteAllText(Path.Combine(dir, Html), ToHtml(runs, table, figures));
    }

    static string ToMarkdown(IReadOnlyList<RunHistory> runs, ReportTable table, IReadOnlyList<ReportFigure> figures)
    {
        var md = new StringBuilder($"# {Title}\n\n");
        foreach (var r in runs) md.Append($"- `{r.Name}`: {Path.GetFullPath(r.Dir)}\n");
        md.Append("\n## Final metrics\n\n");
        md.Append(MarkdownTable.Of(table.Header, table.Rows));
        foreach (var f in figures) md.Append($"\n## {f.Title}\n\n![{f.Title}]({f.FileName})\n");
        return md.ToString();
    }

    static string ToHtml(IReadOnlyList<RunHistory> runs, ReportTable table, IReadOnlyList<ReportFigure> figures)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var h = new StringBuilder();
        h.Append($"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{Title}</title>\n<style>\n")
         .Append("body { font-family: sans-serif; margin: 2em; }\n")
         .Append("table { border-collapse: collapse; }\nth, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }\n")
         .Append("th:first-child, td:first-child { text-align: left; }\nimg { max-width: 100%; }\n</style>\n</head>\n<body>\n")
         .Append($"<h1>{Title}</h1>\n<ul>\n");
        foreach (var r in runs) h.Append($"<li><code>{E(r.Name)}</code>: {E(Path.GetFullPath(r.Dir))}</li>\n");
        h.Append("</ul>\n<h2>Final metrics</h2>\n<table>\n<tr>");
        foreach (var c in table.Header) h.Append($"<th>{E(c)}</th>");
        h.Append("</tr>\n");
        foreach (var row in table.Rows)
        {
            h.Append("<tr>");
            foreach (var c in row) h.Append($"<td>{E(c)}</td>");
            h.Append("</tr>\n");
        }
        h.Append("</table>\n");
        foreach (var f in figures)
            h.Append($"<h2>{E(f.Title)}</h2>\n<img alt=\"{E(f.Title)}\" src=\"data:image/png;base64,{Convert.ToBase64String(f.Png)}\">\n");
        return h.Append("</body>\n</html>\n").ToString();
    }
}
