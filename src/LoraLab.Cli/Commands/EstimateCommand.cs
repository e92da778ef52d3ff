using System.ComponentModel;
using System.Text.Json;
using LoraLab.Estimation;
using LoraLab.Models;
using LoraLab.Runtime;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class EstimateSettings : CommandSettings, LoraLab.Cli.Hub.IOfflineFlag
{
    [CommandOption(SharedFlags.Offline)]
    [Description(SharedFlags.OfflineHelp)]
    public bool Offline { get; set; }

    [CommandOption(SharedFlags.Arch)]
    [Description(SharedFlags.ArchHelp)]
    public string? Arch { get; set; }

    // The run settings estimate shares with train: described and defaulted as train's (RunSettings, RunConfig).
    [CommandOption(SharedFlags.Method)] public string? Method { get; set; }
    [CommandOption(SharedFlags.Targets)] public string? Targets { get; set; }
    [CommandOption(SharedFlags.Rank)] public int? R { get; set; }
    [CommandOption(SharedFlags.Dora)] public bool? Dora { get; set; }
    [CommandOption(SharedFlags.GaloreRank)] public int? GaloreRank { get; set; }

    [CommandOption(SharedFlags.MicroBatchSize)]
    [Description("Examples per forward pass (what peak memory depends on, not the global --batch-size of train).")]
    [DefaultValue(1)]
    public int MicroBatchSize { get; set; } = 1;

    [CommandOption(SharedFlags.MaxSeqLength)] public int? MaxSeqLength { get; set; }

    [CommandOption(SharedFlags.Precision)]
    [Description("fp32, bf16 or fp16.")]
    [DefaultValue("fp32")]
    public string Precision { get; set; } = "fp32";

    [CommandOption(SharedFlags.Quantize)] public string? Quantize { get; set; }

    [CommandOption(SharedFlags.Device)]
    [Description("cpu (process resident memory) or cuda (tensor memory, as torch.cuda.max_memory_allocated).")]
    [DefaultValue("cpu")]
    public string Device { get; set; } = "cpu";

    [CommandOption("--grad-checkpointing")]
    public bool GradCheckpointing { get; set; }

    [CommandOption("--compare-targets <LISTS>")]
    [Description("Semicolon-separated target lists to estimate side by side, e.g. \"qv;all\".")]
    public string? CompareTargets { get; set; }

    [CommandOption("--json")]
    public bool Json { get; set; }

    public override ValidationResult Validate()
    {
        LoraLab.Configuration.RunSettings.R.Check("--rank", R);
        NumberRange.AtLeast(1).Check("--micro-batch-size", MicroBatchSize);
        NumberRange.AtLeast(1).Check("--max-seq-length", MaxSeqLength);
        return base.Validate();
    }
}

/// `loralab estimate`: predicted peak memory of a training step, by part, without loading anything.
public sealed class EstimateCommand : Command<EstimateSettings>
{
    /// Llama-2-7B, bf16, micro-batch 1, LoRA r=8 (Lit-GPT, A100; S. Raschka, "Practical Tips for Finetuning LLMs
    /// Using LoRA", 2023): peak GPU memory with adapters on q,v only and on all layers.
    static readonly Dictionary<string, double> Llama2Reference = new() { ["qv"] = 14.18, ["all"] = 16.62 };

    public override int Execute(CommandContext context, EstimateSettings s, CancellationToken cancellation)
    {
        var cfg = KnownConfigs.Resolve(s.Arch ?? "");
        var d = new MemoryEstimateOptions();
        string method = (s.Method ?? d.Method).ToLowerInvariant();
        if (method != "galore" && s.GaloreRank is not null) throw new UserException("--galore-rank applies to --method galore only");
        int rank = s.R ?? d.R;
        var targetsList = (s.CompareTargets ?? s.Targets ?? d.Targets).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var rows = targetsList.Select(t =>
        {
            var o = new MemoryEstimateOptions
            {
                Method = method, Targets = t, R = rank, Dora = s.Dora ?? false, GaloreRank = s.GaloreRank, Batch = s.MicroBatchSize, Seq = s.MaxSeqLength ?? d.Seq, Precision = s.Precision.ToLowerInvariant(),
                Quantize = (s.Quantize ?? d.Quantize).ToLowerInvariant(), Device = s.Device.ToLowerInvariant(), GradCheckpointing = s.GradCheckpointing,
            };
            return (Targets: t, Estimate: MemoryEstimator.Estimate(cfg, o));
        }).ToList();
        // The measured figure is comparable only for the experiment's own settings (r=8 among them).
        bool reference = s.Arch!.Equals("llama-2-7b", StringComparison.OrdinalIgnoreCase) && s.Precision == "bf16" && s.MicroBatchSize == 1 && method == "lora"
                         && rank == 8 && !s.GradCheckpointing;

        if (s.Json)
        {
            Console.WriteLine(JsonSerializer.Serialize(rows.Select(r => new
            {
                config = s.Arch, method = s.Method, dora = s.Dora ?? false, targets = r.Targets, r = s.R, galore_rank = method == "galore" ? s.GaloreRank ?? LoraLab.Training.GaloreWeights.DefaultRank(cfg) : (int?)null, batch = s.MicroBatchSize, seq = s.MaxSeqLength, precision = s.Precision, device = s.Device,
                grad_checkpointing = s.GradCheckpointing,
                parts_mb = r.Estimate.Parts().ToDictionary(p => p.Part, p => Math.Round(p.Bytes / 1048576.0, 1)),
                total_mb = Math.Round(r.Estimate.Total / 1048576.0, 1), total_gb = Math.Round(r.Estimate.Total / 1e9, 2),
                reference_gb = reference && Llama2Reference.TryGetValue(r.Targets, out var g) ? g : (double?)null,
            })));
            return 0;
        }
        var table = new Table().AddColumn("part");
        foreach (var r in rows) table.AddColumn(new TableColumn($"targets {r.Targets}").RightAligned());
        foreach (var (part, _) in rows[0].Estimate.Parts())
            table.AddRow(new[] { part }.Concat(rows.Select(r => Mb(r.Estimate.Parts().First(p => p.Part == part).Bytes))).ToArray());
        table.AddRow(new[] { "[bold]total[/]" }.Concat(rows.Select(r => $"[bold]{Mb(r.Estimate.Total)}[/] ({r.Estimate.Total / 1e9:F2} GB)")).ToArray());
        if (reference)
            table.AddRow(new[] { "original experiment, same settings (GPU peak)" }.Concat(rows.Select(r => Llama2Reference.TryGetValue(r.Targets, out var g) ? $"{g:F2} GB" : "-")).ToArray());
        string shape = method == "galore" ? $"galore, rank {s.GaloreRank ?? LoraLab.Training.GaloreWeights.DefaultRank(cfg)}" : $"{s.Method}{(s.Dora == true ? " (DoRA)" : "")}, r={s.R}";
        AnsiConsole.MarkupLine($"{Markup.Escape(s.Arch)}: {Markup.Escape(shape)}, micro-batch {s.MicroBatchSize} x {s.MaxSeqLength} tokens, {s.Precision}, {s.Device}{(s.GradCheckpointing ? ", activation checkpointing" : "")}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("[grey]Backward frees activations as it creates gradients: the total counts the larger of the two, not both.[/]");
        return 0;
    }

    static string Mb(long b) => $"{b / 1048576.0:N0} MB";
}
