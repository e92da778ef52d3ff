using LoraLab.Adapters.Analysis;

namespace LoraLab.Cli.Commands;

/// `analyze --out`'s effective_rank.png: layers down, module types across, each cell the rank holding 90% of
/// that module's ΔW energy (written in the cell; blank where the module is not adapted). lm_head is its own row.
public static class EffectiveRankHeatmap
{
    public const string FileName = "effective_rank.png";

    public static void Save(string path, IReadOnlyList<ModuleSpectrum> modules, string title)
    {
        var columns = modules.Select(m => m.Module).Distinct().OrderBy(AdapterAnalyzer.ModuleOrder).ThenBy(m => m, StringComparer.Ordinal).ToList();
        var rows = modules.Select(m => m.Layer).Distinct().OrderBy(l => l < 0 ? int.MaxValue : l).ToList();
        var grid = new double[rows.Count, columns.Count];
        for (int i = 0; i < rows.Count; i++)
            for (int j = 0; j < columns.Count; j++) grid[i, j] = double.NaN;
        var plot = new ScottPlot.Plot();
        foreach (var m in modules)
        {
            int i = rows.IndexOf(m.Layer), j = columns.IndexOf(m.Module);
            grid[i, j] = m.Rank90;
            var label = plot.Add.Text($"{m.Rank90}/{m.R}", j, rows.Count - 1 - i); // row 0 is drawn at the top
            label.LabelAlignment = ScottPlot.Alignment.MiddleCenter;
            label.LabelFontColor = ScottPlot.Colors.Black;
            label.LabelBackgroundColor = ScottPlot.Colors.White.WithAlpha(0.7);
            label.LabelFontSize = 11;
        }
        var map = plot.Add.Heatmap(grid);
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        map.ManualRange = new ScottPlot.Range(0, modules.Max(m => m.R)); // colours mean the same rank in every plot of this adapter
        map.Rectangle = new ScottPlot.CoordinateRect(-0.5, columns.Count - 0.5, -0.5, rows.Count - 0.5);
        plot.MoveToBack(map);
        var bar = plot.Add.ColorBar(map);
        bar.Label = "rank at 90% energy";
        var x = new ScottPlot.TickGenerators.NumericManual();
        for (int j = 0; j < columns.Count; j++) x.AddMajor(j, columns[j]);
        var y = new ScottPlot.TickGenerators.NumericManual();
        for (int i = 0; i < rows.Count; i++) y.AddMajor(rows.Count - 1 - i, rows[i] < 0 ? "head" : rows[i].ToString());
        plot.Axes.Bottom.TickGenerator = x;
        plot.Axes.Left.TickGenerator = y;
        plot.Axes.SetLimits(-0.5, columns.Count - 0.5, -0.5, rows.Count - 0.5);
        plot.Title(title);
        plot.XLabel("module");
        plot.YLabel("layer");
        plot.SavePng(path, 160 + 90 * columns.Count, 140 + Math.Max(200, 28 * rows.Count));
    }
}
