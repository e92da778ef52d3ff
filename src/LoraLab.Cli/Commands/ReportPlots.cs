using LoraLab.Reporting;
using ScottPlot;

namespace LoraLab.Cli.Commands;

/// The report's plots, drawn with ScottPlot (referenced by the CLI only, so the library stays free of a native
/// graphics stack): every run on shared axes, one colour per run, the legend naming each run by its folder.
public static class ReportPlots
{
    public const int Width = 900, Height = 500;

    public static IReadOnlyList<ReportFigure> Draw(IReadOnlyList<RunHistory> runs) =>
    [
        Figure("Loss", "loss.png", "loss", runs, (r => r.TrainLoss, "train"), (r => r.ValLoss, "val")),
        Figure("Learning rate", "lr.png", "learning rate", runs, (r => r.LearningRate, null)),
        Figure("Throughput", "tokens_per_s.png", "tokens/s", runs, (r => r.TokensPerSecond, null)),
    ];

    /// One plot of the given series of every run; a series with a label is named "RUN label" in the legend. The
    /// second series of a run (validation loss) is dashed with markers, as evaluations are few points.
    static ReportFigure Figure(string title, string file, string yLabel, IReadOnlyList<RunHistory> runs,
        params (Func<RunHistory, IReadOnlyList<StepValue>> Of, string? Label)[] series)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < runs.Count; i++)
            for (int k = 0; k < series.Length; k++)
            {
                var points = series[k].Of(runs[i]);
                if (points.Count == 0) continue;
                var line = plot.Add.Scatter(points.Select(p => (double)p.Step).ToArray(), points.Select(p => p.Value).ToArray());
                line.Color = palette.GetColor(i);
                line.LineWidth = 2;
                line.MarkerSize = k == 0 && points.Count > 1 ? 0 : 6;
                if (k > 0) line.LinePattern = LinePattern.Dashed;
                line.LegendText = series[k].Label is { } label ? $"{runs[i].Name} {label}" : runs[i].Name;
            }
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperRight);
        return new ReportFigure(title, file, plot.GetImageBytes(Width, Height, ImageFormat.Png));
    }
}
