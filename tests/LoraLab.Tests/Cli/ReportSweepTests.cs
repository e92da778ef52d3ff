using System.Globalization;
using LoraLab.Cli.Commands;
using LoraLab.Tests.Adapters;
using SkiaSharp;
using Xunit;

namespace LoraLab.Tests.Cli;

/// `loralab report SWEEP_DIR`: every run under DIR/runs/ that logged steps, into DIR/report by default; runs without
/// steps named as skipped. Fake runs as a sweep leaves them: run.yaml + metrics.jsonl (+ adapter/ when finished).
[Collection("cli")]
public class ReportSweepTests
{
    /// A run folder under DIR/runs/: rank r, `steps` train rows whose loss falls from a level set by r, the fixture
    /// adapter when finished.
    static string FakeRun(string sweep, string name, int r, int steps, bool finished = true)
    {
        var dir = Directory.CreateDirectory(Path.Combine(sweep, "runs", name)).FullName;
        File.WriteAllText(Path.Combine(dir, "run.yaml"), $"method: lora\nr: {r}\nlr: 0.001\nbatch_size: 4\nran:\n  total_steps: {steps}\n  steps_per_epoch: {steps}\n  epochs: 1\n");
        File.WriteAllLines(Path.Combine(dir, "metrics.jsonl"), Enumerable.Range(1, steps).Select(s => string.Create(CultureInfo.InvariantCulture,
            $"{{\"type\":\"train\",\"step\":{s},\"epoch\":1,\"loss\":{3 + r / 10.0 - 0.1 * s},\"lr\":0.001,\"tokens_per_s\":{100 + r},\"rss_mb\":200,\"elapsed_s\":{s}}}")));
        if (finished)
        {
            Directory.CreateDirectory(Path.Combine(dir, "adapter"));
            foreach (var f in Directory.GetFiles(LoraTestModels.TinyAdapterDir, "adapter_*")) File.Copy(f, Path.Combine(dir, "adapter", Path.GetFileName(f)));
        }
        return dir;
    }

    [Fact]
    public void ASweepFolderReportsEveryRunWithStepsIntoItsReportFolderAndNamesTheSkippedOnes()
    {
        var sweep = Path.Combine(TempDir.New(), "sweep");
        FakeRun(sweep, "r2", 2, 5);
        FakeRun(sweep, "r4", 4, 5);
        FakeRun(sweep, "r8", 8, 3, finished: false); // killed after 3 steps: its curve so far
        var killed = Path.Combine(sweep, "runs", "r16");        // killed before its first step
        Directory.CreateDirectory(killed);
        File.WriteAllText(Path.Combine(killed, "run.yaml"), "method: lora\nr: 16\n");
        var failed = Path.Combine(sweep, "runs", "bad");         // failed before training
        Directory.CreateDirectory(failed);
        File.WriteAllText(Path.Combine(failed, "error.txt"), "error: data: not found\n");

        var (code, stdout, err) = CliRunner.Run("report", sweep);
        Assert.True(code == 0, err + stdout);
        var outDir = Path.Combine(sweep, "report");
        Assert.Contains($"{failed}: skipped (failed, no training steps logged)", stdout);
        Assert.Contains($"{killed}: skipped (missing, no training steps logged)", stdout);
        Assert.Contains($"report of 3 runs: {Path.Combine(outDir, "report.html")}", stdout.Replace("\n", ""));
        var md = File.ReadAllText(Path.Combine(outDir, "report.md"));
        // one row per run with steps, in the order of results.csv (by folder name)
        Assert.Equal(["r2", "r4", "r8"], TableRuns(md));
        Assert.Contains("| r8 | lora | 8 | 16 | all | 0.001 | 4 | 3 |", md);
        Assert.DoesNotContain("r16", md);
        Assert.DoesNotContain("bad", md);

        // the report folder is the sweep's: a second report needs --overwrite, and the sweep's other folders are refused
        (code, _, err) = CliRunner.Run("report", sweep);
        Assert.Equal(2, code);
        Assert.Contains("folder exists and is not empty (pass --overwrite", err);
        (code, _, err) = CliRunner.Run("report", sweep, "--out", Path.Combine(sweep, "configs"), "--overwrite");
        Assert.Equal(2, code);
        Assert.Contains($"lies inside the sweep folder {sweep}", err);
        Assert.True(CliRunner.Run("report", sweep, "--overwrite").Code == 0);
    }

    [Fact]
    public void ASweepFolderAndARunFolderTogetherGiveOneReportWhichNeedsOut()
    {
        var sweep = Path.Combine(TempDir.New(), "sweep");
        FakeRun(sweep, "r2", 2, 4);
        FakeRun(sweep, "r4", 4, 4);
        var alone = FakeRun(Path.Combine(TempDir.New(), "other"), "baseline", 8, 4);

        var (code, _, err) = CliRunner.Run("report", sweep, alone);
        Assert.Equal((2, "error: --out is required (the folder to write the report into; only a single sweep folder has a default, DIR/report)"), (code, err.Trim()));
        var outDir = Path.Combine(TempDir.New(), "report");
        (code, var stdout, err) = CliRunner.Run("report", sweep, alone, "--out", outDir);
        Assert.True(code == 0, err + stdout);
        var md = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Equal(["r2", "r4", "baseline"], TableRuns(md));

        // a sweep with no run that logged a step is an error, not an empty report
        var empty = Path.Combine(TempDir.New(), "empty");
        Directory.CreateDirectory(Path.Combine(empty, "runs", "r2"));
        (code, _, err) = CliRunner.Run("report", empty);
        Assert.Equal((2, $"error: {empty}: no run in {Path.Combine(empty, "runs")} has logged training steps yet (1 run folders)"), (code, err.Trim()));
    }

    [Fact]
    public void ThirtyRunsGetAColourEachAndTheLegendBesideThePlot()
    {
        var sweep = Path.Combine(TempDir.New(), "sweep");
        for (int i = 0; i < 30; i++) FakeRun(sweep, $"run{i:D2}", i + 1, 6, finished: false);
        var (code, stdout, err) = CliRunner.Run("report", sweep);
        Assert.True(code == 0, err + stdout);
        using var image = SKBitmap.Decode(Path.Combine(sweep, "report", "loss.png"));
        Assert.Equal((ReportPlots.Width, ReportPlots.HeightFor(30)), (image.Width, image.Height));
        Assert.True(image.Height > ReportPlots.Height);
        var colors = Enumerable.Range(0, 30).Select(i => ReportPlots.ColorOf(i, 30)).ToList();
        Assert.Equal(30, colors.Distinct().Count());
        // every run's curve is drawn in its colour, the 11th to the 30th too (Category10 would have repeated them)
        foreach (var i in new[] { 0, 10, 29 })
        {
            var c = new SKColor(colors[i].R, colors[i].G, colors[i].B);
            Assert.True(Near(image, c) > 100, $"run {i}: {Near(image, c)} pixels of its colour");
        }
    }

    /// The run column of report.md's table, top to bottom.
    static List<string> TableRuns(string md) =>
        md.Split('\n').Where(l => l.StartsWith("| ") && !l.StartsWith("| run |") && !l.StartsWith("| --- |")).Select(l => l.Split(" | ")[0][2..]).ToList();

    static int Near(SKBitmap image, SKColor color) =>
        image.Pixels.Count(p => Math.Abs(p.Red - color.Red) + Math.Abs(p.Green - color.Green) + Math.Abs(p.Blue - color.Blue) < 12);
}
