using System.ComponentModel;
using LoraLab.IO;
using LoraLab.Reporting;
using LoraLab.Sweeps;
using LoraLab.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class ReportSettings : CommandSettings
{
    [CommandArgument(0, "<RUN_DIR>")]
    [Description("One or more `loralab train` output folders (run.yaml, metrics.jsonl; eval.json adds task scores), or `loralab sweep` folders (every run in DIR/runs/ that has logged steps).")]
    public string[] Runs { get; set; } = [];

    [CommandOption("--out <DIR>")]
    [Description("Folder for report.md, report.html (self-contained) and the plots as PNG files; must not exist or be empty unless --overwrite. Default for a single sweep folder: DIR/report.")]
    public string? Out { get; set; }

    [CommandOption("--overwrite")]
    [Description("Replace a non-empty --out folder.")]
    public bool Overwrite { get; set; }
}

/// `loralab report`: loss, learning-rate and throughput curves of one or more runs on shared axes, and a table of
/// their settings, final metrics and task scores, as report.md and a self-contained report.html.
public sealed class ReportCommand : Command<ReportSettings>
{
    public override int Execute(CommandContext context, ReportSettings s, CancellationToken cancellation)
    {
        var runs = ReportRuns.Expand(s.Runs);
        var outDir = s.Out;
        if (string.IsNullOrWhiteSpace(outDir))
            outDir = s.Runs.Length == 1 && runs.SweepDirs.Count == 1 ? Path.Combine(runs.SweepDirs[0], RunFolder.Report)
                : throw new UserException("--out is required (the folder to write the report into; only a single sweep folder has a default, DIR/report)");
        foreach (var line in runs.Skipped) Console.WriteLine(line); // unwrapped: paths, to copy
        var html = Write(runs.RunDirs, outDir, s.Overwrite, runs.SweepDirs);
        var n = runs.RunDirs.Count;
        AnsiConsole.MarkupLine($"report of {n} run{(n == 1 ? "" : "s")}: [bold]{Markup.Escape(html)}[/]");
        return 0;
    }

    /// Reads the runs, draws the plots and writes the report folder as a whole (a temporary sibling renamed into
    /// place); returns the path of report.html. A report may live in a run folder's own report/ (`train --report` writes
    /// RUN_DIR/report), but --out may not be anything else in a run folder (adapter/, checkpoints/, ...), the run
    /// folder itself or a folder holding one: replacing it would delete the run. The same holds for a sweep folder
    /// the runs came from: only its DIR/report may be written (--out DIR/configs --overwrite would delete its configs).
    public static string Write(IReadOnlyList<string> runDirs, string outDir, bool overwrite, IReadOnlyList<string>? sweepDirs = null)
    {
        var runs = RunHistoryReader.ReadAll(runDirs); // every run is checked before anything is written
        var full = Path.GetFullPath(outDir);
        var outReal = RealPath.Of(outDir);
        var inputs = runDirs.Where(d => !RealPath.Same(outDir, Path.Combine(d, RunFolder.Report)))
            .Select(d => new InputPath("RUN_DIR", d))
            .Concat((sweepDirs ?? []).Where(d => !RealPath.Same(outDir, Path.Combine(d, RunFolder.Report))).Select(d => new InputPath("sweep", d)));
        bool existed = Directory.Exists(full);
        using var held = OutputFolder.Claim(outDir, overwrite, inputs);
        var name = Path.GetFileName(full);
        AtomicDirectory.Recover(Path.GetDirectoryName(full)!, n => n == name); // a killed report into this --out
        try
        {
            var figures = ReportPlots.Draw(runs);
            AtomicDirectory.Write(full, tmp => ReportPage.Write(tmp, runs, ReportTable.Of(runs), figures));
        }
        catch when (!existed)
        {
            held.DeleteFolder(); // a failed report leaves no folder it created
            throw;
        }
        return Path.Combine(full, ReportPage.Html);
    }
}
