using System.Text.RegularExpressions;
using LoraLab.Cli.Commands;
using LoraLab.Tests.Adapters;
using SkiaSharp;
using Xunit;

namespace LoraLab.Tests.Cli;

/// `loralab report` on two short `train` runs of the tiny-chat fixture (and `train --report`): real PNG plots that
/// show both runs' curves, inlined in report.html, and a table row per run.
[Collection("cli")]
public class ReportCommandTests
{
    // Two runs that differ in rate and rank (4 steps each, evaluated every 2), made once for the class.
    static readonly Lazy<(string A, string B)> Runs = new(() =>
    {
        var root = TempDir.New("report-runs");
        string a = Path.Combine(root, "run-a"), b = Path.Combine(root, "run-b"), model = LoraTestModels.TinyChatModel();
        Train(a, model, "--lr", "1e-3", "--r", "4");
        Train(b, model, "--lr", "3e-4", "--r", "8");
        return (a, b);
    });

    // one base for both, so the table shows only the settings the runs were made to differ in
    static void Train(string outDir, string model, params string[] extra)
    {
        var (code, stdout, err) = CliRunner.Run(["train", "--model", model, "--data", LoraTestModels.Instructions,
            "--out", outDir, "--max-steps", "4", "--threads", "1", "--stop-rate-prompts", "0", "--batch-size", "4", "--micro-batch-size", "2",
            "--max-seq-length", "96", "--eval-every", "2", .. extra]);
        Assert.True(code == 0, err + stdout);
    }

    // ScottPlot's Category10: the colours of the first and second run.
    static readonly SKColor First = SKColor.Parse("#1f77b4"), Second = SKColor.Parse("#ff7f0e");

    [Fact]
    public void TwoRunsGiveRealPngPlotsWithBothCurvesInlinedInTheHtml()
    {
        var (a, b) = Runs.Value;
        var outDir = Path.Combine(TempDir.New(), "report");
        var (code, stdout, err) = CliRunner.Run("report", a, b, "--out", outDir);
        Assert.True(code == 0, err + stdout);

        var html = File.ReadAllText(Path.Combine(outDir, "report.html"));
        var md = File.ReadAllText(Path.Combine(outDir, "report.md"));
        foreach (var png in new[] { "loss.png", "lr.png", "tokens_per_s.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(outDir, png));
            using var image = SKBitmap.Decode(bytes);
            Assert.NotNull(image);
            Assert.Equal((ReportPlots.Width, ReportPlots.Height), (image.Width, image.Height));
            Assert.True(image.Pixels.Distinct().Count() > 50, $"{png} is blank");
            // each run's curve, not only its legend entry (a 20-pixel sample line), is drawn in its colour
            Assert.True(Near(image, First) > 300, $"{png}: {Near(image, First)} pixels of the first run's colour");
            Assert.True(Near(image, Second) > 300, $"{png}: {Near(image, Second)} pixels of the second run's colour");
            Assert.Contains($"src=\"data:image/png;base64,{Convert.ToBase64String(bytes)}\"", html);
            Assert.Contains($"]({png})", md);
        }
        Assert.DoesNotContain("<img src=\"loss.png", html); // self-contained: no image by file name
        // one table row per run: name, method, r, alpha, targets, lr, batch, steps (4 of 11 per epoch)
        Assert.Contains("| run-a | lora | 4 | 16 | all | 0.001 | 4 | 4 | 0.364 |", md);
        Assert.Contains("| run-b | lora | 8 | 16 | all | 0.0003 | 4 | 4 | 0.364 |", md);
        Assert.Contains("<td>run-a</td>", html);
        Assert.DoesNotContain("eval ", md); // no eval.json: no task columns
    }

    [Fact]
    public void AnEvalSavedInTheRunFolderAddsItsScoresAsColumns()
    {
        var (a, b) = Runs.Value;
        var copy = Path.Combine(TempDir.New(), "scored");
        Directory.CreateDirectory(copy);
        foreach (var f in new[] { "run.yaml", "metrics.jsonl" }) File.Copy(Path.Combine(a, f), Path.Combine(copy, f));
        File.WriteAllText(Path.Combine(copy, "eval.json"), "{\"loss\": 6.25, \"template\": \"alpaca\", \"tasks\": {\"demo-mc\": {\"acc\": 0.75}}}");
        var outDir = Path.Combine(TempDir.New(), "report");
        var (code, _, err) = CliRunner.Run("report", copy, b, "--out", outDir);
        Assert.True(code == 0, err);
        var md = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains("| eval loss | eval tasks.demo-mc.acc |", md);
        Assert.Matches(@"\| scored \|.*\| - \| [\d.]+ \| [\d.]+ \| 6\.25 \| 0\.75 \|", md); // no adapter copied: params "-"
        Assert.Matches(@"\| run-b \|.*\| 8,192 \| [\d.]+ \| [\d.]+ \| - \| - \|", md);
    }

    [Fact]
    public void BadRunFoldersAndUsedOutputFoldersAreOneLineErrors()
    {
        var (a, _) = Runs.Value;
        var dir = TempDir.New();
        var empty = Path.Combine(dir, "empty");
        Directory.CreateDirectory(empty);
        var used = Path.Combine(dir, "used");
        Directory.CreateDirectory(used);
        File.WriteAllText(Path.Combine(used, "x"), "");

        void Expect(string expected, params string[] args)
        {
            var (code, _, err) = CliRunner.Run(["report", .. args]);
            Assert.True(code == 2, $"exit {code}: {err}");
            Assert.Contains(expected, err);
            Assert.Single(err.Trim().Split('\n'));
        }
        Expect($"{Path.Combine(dir, "nope")}: run folder not found", Path.Combine(dir, "nope"), "--out", Path.Combine(dir, "o1"));
        Expect($"{empty}: not a loralab train run folder (no run.yaml)", a, empty, "--out", Path.Combine(dir, "o2"));
        Expect("folder exists and is not empty (pass --overwrite", a, "--out", used);
        Expect($"is the RUN_DIR folder {a}", a, "--out", a, "--overwrite");
        Expect($"holds the RUN_DIR folder {a}", a, "--out", Path.GetDirectoryName(a)!, "--overwrite");
        // only RUN_DIR/report may be written inside a run: --out RUN_DIR/adapter --overwrite used to replace the adapter
        Expect($"lies inside the RUN_DIR folder {a}", a, "--out", Path.Combine(a, "adapter"), "--overwrite");
        Assert.True(File.Exists(Path.Combine(a, "adapter", "adapter_config.json")));
        Expect("--out is required", a);
        Assert.False(Directory.Exists(Path.Combine(dir, "o1")) || Directory.Exists(Path.Combine(dir, "o2")));
        Assert.True(File.Exists(Path.Combine(a, "metrics.jsonl")));
        Assert.True(File.Exists(Path.Combine(used, "x")));

        // --overwrite replaces the report folder as a whole
        var (code, _, err) = CliRunner.Run("report", a, "--out", used, "--overwrite");
        Assert.True(code == 0, err);
        Assert.False(File.Exists(Path.Combine(used, "x")));
        Assert.True(File.Exists(Path.Combine(used, "report.html")));
    }

    [Fact]
    public void TrainReportWritesTheRunsReportIntoItsFolder()
    {
        var outDir = Path.Combine(TempDir.New(), "run");
        var (code, stdout, err) = CliRunner.Run("train", "--model", LoraTestModels.TinyChatModel(), "--data", LoraTestModels.Instructions,
            "--out", outDir, "--max-steps", "2", "--threads", "1", "--stop-rate-prompts", "0", "--batch-size", "4", "--micro-batch-size", "2",
            "--max-seq-length", "96", "--report");
        Assert.True(code == 0, err + stdout);
        var html = Path.Combine(outDir, "report", "report.html");
        Assert.Contains($"report: {html}", stdout);
        Assert.Matches(@"\| run \| lora \| 8 \| 16 \| all \| 0\.0003 \| 4 \| 2 \|", File.ReadAllText(Path.Combine(outDir, "report", "report.md")));
        using var loss = SKBitmap.Decode(Path.Combine(outDir, "report", "loss.png"));
        Assert.True(Near(loss, First) > 300);
    }

    /// Pixels within a small distance of `color` (anti-aliased edges aside, a 2-pixel line is drawn in it exactly).
    static int Near(SKBitmap image, SKColor color) =>
        image.Pixels.Count(p => Math.Abs(p.Red - color.Red) + Math.Abs(p.Green - color.Green) + Math.Abs(p.Blue - color.Blue) < 30);
}
