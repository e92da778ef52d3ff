using System.ComponentModel;
using LoraLab.Configuration;
using LoraLab.Sweeps;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class SweepSettings : CommandSettings, LoraLab.Cli.Hub.IOfflineFlag
{
    [CommandOption(SharedFlags.Offline)]
    [Description(SharedFlags.OfflineHelp)]
    public bool Offline { get; set; }

    [CommandOption("--config <YAML>")]
    [Description("Sweep file: base: (train settings, keys as in `train --config`), grid: (setting → list of values; every combination) and/or runs: (a list of overrides, each optionally with name:).")]
    public string? ConfigFile { get; set; }

    [CommandOption(RunSettings.OutFlag)]
    [Description("Sweep folder: each run trains in DIR/runs/<name>/ (its train log in DIR/logs/<name>.log); a run whose folder holds adapter/ or model/ is skipped, so the same command resumes a sweep.")]
    public string? Out { get; set; }

    [CommandOption("--dry-run")]
    [Description("List the runs (name and the settings each varies) without training.")]
    public bool DryRun { get; set; }

    [CommandOption("--shard <I/N>")]
    [Description("Run every N-th run starting at run I, with I counted from 0 (0 to N-1, as a Kubernetes indexed Job or a Slurm --array=0-(N-1)): N machines with --shard 0/N ... --shard N-1/N cover the sweep once.")]
    public string? Shard { get; set; }

    [CommandOption("--collect")]
    [Description("Merge sweep folders: copy the run folders of DIR2... (other shards' --out) that DIR1 lacks into DIR1/runs/, then write DIR1/results.csv and results.md. No --config needed.")]
    public bool Collect { get; set; }

    [CommandOption("--preset <NAME>")]
    [Description("A built-in sweep instead of --config, on the demo model and data, each finding written with its numbers and a verdict (reproduced, contradicted or inconclusive) by a stated rule. lora-tips re-runs the findings of \"Practical Tips for Finetuning LLMs Using LoRA\" (DIR/tips-report.md and .html); methods runs LoRA (3 seeds), DoRA, PiSSA, LoRA+, ReLoRA, GaLore and full fine-tuning at matched steps and judges each paper's claim (DIR/methods-report.md and .html). --out defaults to runs/NAME (runs/NAME-quick with --quick); the same command resumes it.")]
    public string? Preset { get; set; }

    [CommandOption("--quick")]
    [Description("With --preset: fewer examples, steps and grid points, the same findings (lora-tips: about 3 minutes on 2 CPU cores instead of about 9; methods: about 1 instead of about 2).")]
    public bool Quick { get; set; }

    [CommandArgument(0, "[DIR]")]
    [Description("With --collect: the sweep folders, the first receiving the others' runs.")]
    public string[] Dirs { get; set; } = [];
}

/// `loralab sweep`: train every run of a sweep file one after another, each as `loralab train` in a child process of
/// the same program. A process per run, not the train code in this one: a run that crashes the native stack or is
/// killed for memory ends that run only (recorded, the sweep goes on), each run starts with libtorch's process-wide
/// state (threads, allocator, RNG) fresh, and a run is exactly what `train --config DIR/configs/<name>.yaml` does.
public sealed class SweepCommand : Command<SweepSettings>
{
    public override int Execute(CommandContext context, SweepSettings s, CancellationToken cancellation)
    {
        if (s.Collect && (s.Preset is not null || s.Quick)) throw new UserException("--collect merges sweep folders: it takes no --preset or --quick");
        if (s.Collect) return Collect(s.Dirs);
        if (s.Preset is not null) return Preset(s, cancellation);
        if (s.Quick) throw new UserException("--quick applies to --preset");
        if (s.Dirs.Length > 0) throw new UserException($"'{s.Dirs[0]}': sweep takes folders only with --collect (the sweep folder is --out)");
        if (string.IsNullOrWhiteSpace(s.ConfigFile)) throw new UserException("--config is required (a sweep file with base:, grid: and/or runs:)");
        if (string.IsNullOrWhiteSpace(s.Out) && !s.DryRun) throw new UserException("--out is required (the sweep folder; runs go in DIR/runs/<name>/)");
        var shard = s.Shard is null ? Shard.All : Sweeps.Shard.Parse(s.Shard);
        var file = SweepYaml.Load(s.ConfigFile);
        var all = SweepPlan.Expand(file, s.Out ?? ".");
        var mine = shard.Take(all).ToList();
        var of = shard.Count > 1 ? $" (shard {shard} of {all.Count})" : "";
        if (s.DryRun)
        {
            AnsiConsole.MarkupLine($"[bold]loralab sweep[/] {mine.Count} runs{of}");
            AnsiConsole.Write(Table(mine));
            return 0;
        }
        var tasks = SweepTasks.Load(SweepTasks.Entries(file)); // every task file read and checked before the first run trains
        Console.WriteLine($"loralab sweep {mine.Count} runs{of} into {s.Out}"); // unwrapped: the folder, to copy
        var code = new SweepRunner(s.Out!, tasks).RunAll(mine, cancellation);
        WriteResults(s.Out!);
        return code;
    }

    static int Preset(SweepSettings s, CancellationToken cancellation)
    {
        bool tips = string.Equals(s.Preset, TipsPresetRunner.Name, StringComparison.OrdinalIgnoreCase);
        if (!tips && !string.Equals(s.Preset, MethodsPresetRunner.Name, StringComparison.OrdinalIgnoreCase))
            throw new UserException($"--preset {s.Preset}: unknown preset (the built-in ones are {TipsPresetRunner.Name} and {MethodsPresetRunner.Name})");
        if (s.ConfigFile is not null || s.Collect || s.Shard is not null || s.DryRun || s.Dirs.Length > 0)
            throw new UserException("--preset runs a built-in sweep: it takes only --out and --quick");
        string Out(string name) => s.Out ?? Path.Combine("runs", name + (s.Quick ? "-quick" : ""));
        return tips
            ? new TipsPresetRunner(Out(TipsPresetRunner.Name), s.Quick ? Sweeps.Tips.TipsScale.Quick : Sweeps.Tips.TipsScale.Full).Run(cancellation)
            : new MethodsPresetRunner(Out(MethodsPresetRunner.Name), s.Quick ? Sweeps.Methods.MethodsScale.Quick : Sweeps.Methods.MethodsScale.Full).Run(cancellation);
    }

    static int Collect(IReadOnlyList<string> dirs)
    {
        if (dirs.Count == 0) throw new UserException("--collect needs the sweep folders: loralab sweep --collect DIR [DIR...]");
        var copied = SweepCollect.Merge(dirs[0], dirs.Skip(1).ToList());
        Console.WriteLine($"collected {copied.Count} runs into {SweepFolder.RunsOf(dirs[0])}");
        WriteResults(dirs[0]);
        return 0;
    }

    static void WriteResults(string dir)
    {
        var rows = SweepResults.Write(dir);
        var counts = string.Join(", ", rows.GroupBy(r => r.Status).Select(g => $"{g.Count()} {g.Key}"));
        Console.WriteLine($"results: {Path.Combine(dir, SweepFolder.ResultsCsv)} and {SweepFolder.ResultsMd} ({counts})");
    }

    static Table Table(IReadOnlyList<PlannedRun> runs)
    {
        var keys = runs.SelectMany(r => r.Varied.Select(v => v.Key)).Distinct().ToList();
        var table = new Table().AddColumn("#").AddColumn("name");
        foreach (var k in keys) table.AddColumn(Markup.Escape(k));
        foreach (var r in runs)
            table.AddRow(new[] { r.Index.ToString(), Markup.Escape(r.Name) }
                .Concat(keys.Select(k => Markup.Escape(r.Varied.LastOrDefault(v => v.Key == k).Value ?? ""))).ToArray());
        return table;
    }
}
