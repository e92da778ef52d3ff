using System.ComponentModel;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

/// Flags shared by every command that runs a model.
public class ModelSettings : CommandSettings
{
    [CommandOption("--model <DIR>")]
    [Description("Hugging Face model folder (config.json, *.safetensors, tokenizer.json or tokenizer.model).")]
    public string? Model { get; set; }

    [CommandOption("--device <DEVICE>")]
    [Description("auto (CUDA if available, else CPU), cpu or cuda.")]
    [DefaultValue("auto")]
    public string Device { get; set; } = "auto";

    [CommandOption("--dtype <DTYPE>")]
    [Description("Compute dtype: auto (fp32 on CPU, bf16 on CUDA), fp32, bf16, fp16.")]
    [DefaultValue("auto")]
    public string Dtype { get; set; } = "auto";

    [CommandOption("--threads <N>")]
    [Description("CPU threads for libtorch (default: all cores).")]
    public int? Threads { get; set; }

    public string RequireModel() =>
        string.IsNullOrWhiteSpace(Model) ? throw new LoraLab.UserException("--model is required (a Hugging Face model folder)") : Model!;
}
