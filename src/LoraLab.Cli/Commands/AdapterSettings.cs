using System.ComponentModel;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

/// Model flags plus `--adapter`, for commands that run a base model with an optional LoRA adapter.
public class AdapterSettings : ModelSettings
{
    [CommandOption(SharedFlags.Adapter)]
    [Description("PEFT LoRA adapter " + SharedFlags.FolderOrHubIdHelp + " (adapter_config.json + adapter_model.safetensors) applied on top of --model.")]
    public string? Adapter { get; set; }
}
