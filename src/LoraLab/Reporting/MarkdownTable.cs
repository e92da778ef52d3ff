using System.Text;

namespace LoraLab.Reporting;

/// A GitHub-flavoured Markdown table: the header, its `---` row and one line per row, a `|` inside a cell escaped.
public static class MarkdownTable
{
    public static string Of(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        static string Line(IEnumerable<string> cells) => "| " + string.Join(" | ", cells.Select(c => c.Replace("|", "\\|"))) + " |\n";
        var sb = new StringBuilder(Line(header)).Append(Line(header.Select(_ => "---")));
        foreach (var row in rows) sb.Append(Line(row));
        return sb.ToString();
    }
}
