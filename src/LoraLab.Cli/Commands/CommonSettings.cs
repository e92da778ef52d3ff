using System.ComponentModel;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

/// Flags shared by every command that runs a model.
public class ModelSettings : CommandSettings, LoraLab.Cli.Hub.IOfflineFlag
{
    public const string ModelRequired = "--model is required (a Hugging Face model folder or Hub id)";

    [CommandOption(SharedFlags.Model)]
    [Description("The model: a " + SharedFlags.FolderOrHubIdHelp + " (config.json, *.safetensors, tokenizer.json or tokenizer.model). Default with --adapter: the base the adapter records.")]
    public string? Model { get; set; }

    [CommandOption(SharedFlags.Offline)]
    [Description(SharedFlags.OfflineHelp)]
    public bool Offline { get; set; }

    [CommandOption(SharedFlags.Device)]
    [Description(SharedFlags.DeviceHelp)]
    [DefaultValue("auto")]
    public string Device { get; set; } = "auto";

    [CommandOption(SharedFlags.Precision)]
    [Description("Compute dtype: auto, fp32, bf16, fp16. " + LoraLab.Configuration.RunSettings.AutoPrecisionHelp)]
    [DefaultValue("auto")]
    public string Precision { get; set; } = "auto";

    [CommandOption(SharedFlags.Threads)]
    [Description(SharedFlags.ThreadsHelp)]
    public int? Threads { get; set; }
}
