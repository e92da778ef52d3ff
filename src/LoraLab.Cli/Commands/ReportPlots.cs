using LoraLab.Reporting;
using ScottPlot;

namespace LoraLab.Cli.Commands;

/// The report's plots, drawn with ScottPlot (referenced by the CLI only, so the library stays free of a native
/// graphics stack): every run on shared axes, one colour per run, the legend naming each run by its folder.
/// Up to 10 runs (a handful of `train` runs) the legend sits in the plot, an entry per curve; more (a sweep, often
/// 30+ runs) get a colour each along a colour map and one legend entry per run in a column right of the plot, the
/// image growing taller where the column needs it (ScottPlot's legend below the plot clips rows it did not measure).
public static class ReportPlots
{
    public const int Width = 900, Height = 500;
    /// The most runs drawn in Category10's distinct colours with the legend inside the plot.
    public const int LegendInside = 10;
    /// The legend column's height per run and around the entries (title, margins), in pixels at ScottPlot's font.
    const int EntryHeight = 20, AroundLegend = 120;

    public static IReadOnlyList<ReportFigure> Draw(IReadOnlyList<RunHistory> runs) =>
    [
        Figure("Loss", "loss.png", "loss", runs, (r => r.TrainLoss, "train"), (r => r.ValLoss, "val")),
        Figure("Learning rate", "lr.png", "learning rate", runs, (r => r.LearningRate, null)),
        Figure("Throughput", "tokens_per_s.png", "tokens/s", runs, (r => r.TokensPerSecond, null)),
        // preference runs (dpo, orpo): how often and by how much the chosen answer out-rewards the rejected one
        .. runs.Any(r => r.Rewards.Any)
            ? new[]
            {
                Figure("Rewards accuracy", "rewards_accuracy.png", "rewards accuracy", runs, (r => r.Rewards.Accuracy, "train"), (r => r.Rewards.ValAccuracy, "val")),
                Figure("Rewards margin", "rewards_margin.png", "rewards margin", runs, (r => r.Rewards.Margin, "train"), (r => r.Rewards.ValMargin, "val")),
            }
            : [],
    ];

    /// Run i's colour: Category10 for a few runs; for many, evenly spaced along Turbo (neighbours in the sweep's
    /// order differ in hue, and no colour repeats as a 10-colour palette would from the 11th run).
    public static Color ColorOf(int i, int count) =>
        count <= LegendInside ? new ScottPlot.Palettes.Category10().GetColor(i)
            : new ScottPlot.Colormaps.Turbo().GetColor(0.05 + 0.9 * i / (count - 1));

    /// The image height for `count` runs: tall enough for the legend column of a sweep's runs.
    public static int HeightFor(int count) => count <= LegendInside ? Height : Math.Max(Height, EntryHeight * count + AroundLegend);

    /// One plot of the given series of every run; a series with a label is named "RUN label" in the legend. The
    /// second series of a run (validation loss) is dashed with markers, as evaluations are few points.
    static ReportFigure Figure(string title, string file, string yLabel, IReadOnlyList<RunHistory> runs,
        params (Func<RunHistory, IReadOnlyList<StepValue>> Of, string? Label)[] series)
    {
        var plot = new Plot();
        bool many = runs.Count > LegendInside;
        for (int i = 0; i < runs.Count; i++)
            for (int k = 0; k < series.Length; k++)
            {
                var points = series[k].Of(runs[i]);
                if (points.Count == 0) continue;
                var line = plot.Add.Scatter(points.Select(p => (double)p.Step).ToArray(), points.Select(p => p.Value).ToArray());
                line.Color = ColorOf(i, runs.Count);
                line.LineWidth = 2;
                line.MarkerSize = k == 0 && points.Count > 1 ? 0 : 6;
                if (k > 0) line.LinePattern = LinePattern.Dashed;
                // many runs: one entry per run (its first drawn series); the line styles are named in the title
                if (!many) line.LegendText = series[k].Label is { } label ? $"{runs[i].Name} {label}" : runs[i].Name;
                else if (!plot.GetPlottables<ScottPlot.Plottables.Scatter>().Any(s => s.LegendText == runs[i].Name)) line.LegendText = runs[i].Name;
            }
        var labels = series.Select(s => s.Label).OfType<string>().ToList();
        plot.Title(many && labels.Count > 1 ? $"{title} ({labels[0]}: solid, {string.Join(", ", labels.Skip(1))}: dashed)" : title);
        plot.XLabel("step");
        plot.YLabel(yLabel);
        if (many) plot.ShowLegend(Edge.Right);
        else plot.ShowLegend(Alignment.UpperRight);
        return new ReportFigure(title, file, plot.GetImageBytes(Width, HeightFor(runs.Count), ImageFormat.Png));
    }
}
