using System.ComponentModel;
using System.Text.Json;
using LoraLab.Adapters;
using LoraLab.Models;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class ParamsSettings : CommandSettings, LoraLab.Cli.Hub.IOfflineFlag
{
    [CommandOption(SharedFlags.Offline)]
    [Description(SharedFlags.OfflineHelp)]
    public bool Offline { get; set; }

    [CommandOption(SharedFlags.Arch)]
    [Description(SharedFlags.ArchHelp)]
    public string? Arch { get; set; }

    [CommandOption(SharedFlags.Targets)]
    [Description("Modules to adapt: names (q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj,lm_head) and presets (kv, qv, attn, mlp, all).")]
    [DefaultValue("qv")]
    public string Targets { get; set; } = "qv";

    [CommandOption(SharedFlags.Rank)]
    [Description("LoRA rank r (`--r` works too).")]
    [DefaultValue(8)]
    public int R { get; set; } = 8;

    [CommandOption("--lora-head")]
    [Description("Also adapt lm_head.")]
    public bool LoraHead { get; set; }

    [CommandOption(SharedFlags.Dora)]
    [Description("Count DoRA's magnitude vectors too (one value per output row of each adapted module).")]
    public bool Dora { get; set; }

    [CommandOption(SharedFlags.Quantize)]
    [Description("Also show frozen-weight memory with the block linear weights stored as nf4, fp4 or int8.")]
    public string? Quantize { get; set; }

    [CommandOption("--json")]
    [Description("Print exactly one JSON object on stdout.")]
    public bool Json { get; set; }

    public override ValidationResult Validate()
    {
        LoraLab.Configuration.RunSettings.R.Check("--rank", R);
        return base.Validate();
    }
}

/// `loralab params`: total and trainable LoRA parameters from a config's shapes (no weights needed).
public sealed class ParamsCommand : Command<ParamsSettings>
{
    public override int Execute(CommandContext context, ParamsSettings s, CancellationToken cancellation)
    {
        var model = KnownConfigs.Resolve(s.Arch ?? "");
        var lora = new LoraConfig { R = s.R, TargetModules = LoraTargets.Parse(s.Targets, s.LoraHead), UseDora = s.Dora };
        var count = ParamCounter.Count(model, lora);
        var bytes = s.Quantize is null ? null : ParamCounter.FrozenBytes(model, s.Quantize);
        if (bytes is not null && bytes.Scheme is not ("nf4" or "fp4" or "int8"))
            throw new UserException($"--quantize: unknown scheme '{s.Quantize}' (use nf4, fp4 or int8)");
        if (s.Json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                config = s.Arch, targets = lora.TargetModules, r = lora.R, dora = s.Dora, modules = count.ModulesWrapped,
                base_params = count.BaseParameters, trainable_params = count.TrainableParameters,
                total_params = count.TotalParameters, trainable_percent = count.TrainablePercent,
                frozen_bytes = bytes is null ? null : new { scheme = bytes.Scheme, bf16 = bytes.Bf16Bytes, quantized = bytes.QuantizedBytes, quantized_linear = bytes.QuantizedLinearBytes, unquantized = bytes.UnquantizedBytes },
            }));
            return 0;
        }
        var table = new Table().AddColumns("", "value");
        table.AddRow("config", Markup.Escape(s.Arch!));
        table.AddRow("targets", string.Join(", ", lora.TargetModules));
        table.AddRow("rank", $"{lora.R}{(s.Dora ? " (DoRA: + a magnitude per output row)" : "")}");
        table.AddRow("modules adapted", $"{count.ModulesWrapped:N0}");
        table.AddRow("base parameters", $"{count.BaseParameters:N0}");
        table.AddRow("trainable (LoRA) parameters", $"{count.TrainableParameters:N0}");
        table.AddRow("total parameters", $"{count.TotalParameters:N0}");
        table.AddRow("trainable %", $"{count.TrainablePercent:F4}");
        if (bytes is not null)
        {
            table.AddRow("frozen weights, bf16", Size(bytes.Bf16Bytes));
            table.AddRow($"frozen weights, {bytes.Scheme}", $"{Size(bytes.QuantizedBytes)} ({bytes.Ratio:P1} of bf16)");
        }
        AnsiConsole.Write(table);
        return 0;
    }

    static string Size(long bytes) => $"{bytes:N0} B ({bytes / (1024.0 * 1024 * 1024):F2} GiB)";
}
