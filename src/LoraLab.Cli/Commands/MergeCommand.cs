using System.ComponentModel;
using LoraLab.Adapters;
using LoraLab.Runtime;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class MergeSettings : CommandSettings, LoraLab.Cli.Hub.IOfflineFlag
{
    [CommandOption(SharedFlags.Model)]
    [Description("The base model the adapter was trained on: a " + SharedFlags.FolderOrHubIdHelp + " (default: the base the adapter records).")]
    public string? Model { get; set; }

    [CommandOption(SharedFlags.Adapter)]
    [Description("PEFT LoRA adapter " + SharedFlags.FolderOrHubIdHelp + ".")]
    public string? Adapter { get; set; }

    [CommandOption(SharedFlags.Offline)]
    [Description(SharedFlags.OfflineHelp)]
    public bool Offline { get; set; }

    [CommandOption("--out <DIR>")]
    [Description("Folder for the merged model; must not exist or be empty unless --overwrite.")]
    public string? Out { get; set; }

    [CommandOption("--save-dtype <DTYPE>")]
    [Description("Dtype of the written weights: fp32, bf16 or fp16 (default: the base config's torch_dtype).")]
    public string? SaveDtype { get; set; }

    [CommandOption("--base-quantization <Q>")]
    [Description("How the base was stored in training: nf4, fp4, int8 or none (default: the adapter's loralab_adapter.json, else none). A quantized base is dequantized and the adapter merged into that.")]
    public string? BaseQuantization { get; set; }

    [CommandOption("--requantize <Q>")]
    [Description("Also measure the merged model re-quantized (nf4, fp4, int8) against base + adapter; the written weights stay 16/32-bit.")]
    public string? Requantize { get; set; }

    [CommandOption("--overwrite")]
    [Description("Replace a non-empty --out folder.")]
    public bool Overwrite { get; set; }

    [CommandOption(SharedFlags.Device)]
    [Description(SharedFlags.DeviceHelp)]
    [DefaultValue("cpu")]
    public string Device { get; set; } = "cpu";
}

/// `loralab merge`: base + adapter → a standalone Hugging Face model folder, with a logit check of the result.
public sealed class MergeCommand : Command<MergeSettings>
{
    public override int Execute(CommandContext context, MergeSettings s, CancellationToken cancellation)
    {
        // --out is checked before anything is fetched, after the --model/--adapter errors BaseAndAdapter gives
        if (!string.IsNullOrWhiteSpace(s.Adapter) && string.IsNullOrWhiteSpace(s.Out)) throw new UserException("--out is required (the folder to write)");
        var (modelDir, adapterDir) = ModelInputs.BaseAndAdapter(s.Model, s.Adapter);
        if (AdapterLoading.CompareBase(AdapterProvenance.Read(adapterDir), modelDir) is { Matches: false } c)
            Console.Error.WriteLine($"warning: {s.Adapter}: the adapter was trained on a different base than {s.Model ?? modelDir} ({c.Describe()}); the merged model may be wrong");
        var device = Devices.Resolve(s.Device);
        var report = AdapterMerger.MergeToFolder(new MergeOptions
        {
            BaseDir = modelDir, AdapterDir = adapterDir, OutDir = s.Out, Overwrite = s.Overwrite, Device = device,
            OutDtype = s.SaveDtype is null ? null : Devices.ParseDtype(s.SaveDtype),
            BaseQuantization = s.BaseQuantization, Requantize = s.Requantize,
        });
        AnsiConsole.MarkupLine($"merged {report.ModulesMerged} modules into [bold]{Markup.Escape(report.OutDir)}[/] ({report.Dtype}): {string.Join(", ", report.Files)}");
        if (report.BaseQuantization is { } q)
            AnsiConsole.MarkupLine($"the base was {q} in training: its weights were dequantized and the adapter merged into them");
        string reference = report.BaseQuantization is { } bq ? $"base ({bq}) + adapter" : "base + adapter";
        Probes($"merged vs {reference}, logits", report.Probes);
        if (report.RequantizedProbes is { } rq)
        {
            Probes($"merged re-quantized to {report.Requantized} vs {reference}, logits (drift)", rq);
            AnsiConsole.MarkupLine($"(the files hold {report.Dtype} weights; the drift is what loading them as {report.Requantized} again costs)");
        }
        return 0;
    }

    static void Probes(string title, IReadOnlyList<ProbeDiff> probes)
    {
        var table = new Table().Title(Markup.Escape(title)).AddColumns("probe", "tokens", "max |diff|", "mean |diff|");
        foreach (var p in probes) table.AddRow($"{p.Probe}", $"{p.Tokens}", $"{p.MaxAbs:E3}", $"{p.MeanAbs:E3}");
        AnsiConsole.Write(table);
    }
}
