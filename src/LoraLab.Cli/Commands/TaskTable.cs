using LoraLab.Evaluation.Tasks;
using Spectre.Console;

namespace LoraLab.Cli.Commands;

/// Task scores side by side: a row per metric, a column per model, each score with its standard error.
public static class TaskTable
{
    public static Table Build(string title, IReadOnlyList<TaskColumn> columns, bool templateRow = true)
    {
        var table = new Table { Title = new TableTitle(Markup.Escape(title)) };
        table.AddColumn("metric");
        foreach (var c in columns) table.AddColumn(new TableColumn(Markup.Escape(c.Adapter == TaskColumn.None ? "none (base)" : c.Adapter)).RightAligned());
        foreach (var metric in columns[0].Scores.Select(x => x.Metric))
            table.AddRow([Markup.Escape(metric), .. columns.Select(c => Cell(c.Scores.First(x => x.Metric == metric)))]);
        if (templateRow) table.AddRow(["template", .. columns.Select(c => Markup.Escape(c.Template ?? "plain text"))]);
        return table;
    }

    static string Cell(TaskScore s) => double.IsFinite(s.StdErr) ? $"{s.Value:F4} ± {s.StdErr:F4}" : $"{s.Value:F4}";
}
