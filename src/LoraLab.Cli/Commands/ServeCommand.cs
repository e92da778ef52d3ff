using System.ComponentModel;
using LoraLab.Cli.Serve;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class ServeSettings : ModelSettings
{
    [CommandOption(SharedFlags.ServeAdapter)]
    [Description("Serve a PEFT LoRA adapter as the model NAME (repeat for more): DIR is its folder or Hub id. Clients name it in \"model\".")]
    public string[] Adapters { get; set; } = Array.Empty<string>();

    [CommandOption("--adapter-root <DIR>")]
    [Description("The folder under which POST /v1/load_lora_adapter may load adapters while serving (paths resolved, links followed; nothing outside it). Without it, loading at run time is refused.")]
    public string? AdapterRoot { get; set; }

    [CommandOption("--host <ADDRESS>")]
    [Description("Address to listen on. Anything but a loopback address (127.0.0.1, ::1, localhost) needs --api-key.")]
    [DefaultValue(ServeOptionsDefaults.Host)]
    public string Host { get; set; } = ServeOptionsDefaults.Host;

    [CommandOption("--port <PORT>")]
    [Description("TCP port; 0 picks a free one (the `serving on` line says which).")]
    [DefaultValue(ServeOptionsDefaults.Port)]
    public int Port { get; set; } = ServeOptionsDefaults.Port;

    [CommandOption("--api-key <KEY>")]
    [Description("Clients must send `Authorization: Bearer KEY` (every endpoint but /health). Default: $" + ServeOptionsDefaults.ApiKeyVariable + "; none: no check.")]
    public string? ApiKey { get; set; }

    [CommandOption("--max-batch <N>")]
    [Description("Sequences decoded together in one forward pass at most (each holds a KV cache slot of --max-context positions); more requests wait.")]
    [DefaultValue(ServeOptionsDefaults.MaxBatch)]
    public int MaxBatch { get; set; } = ServeOptionsDefaults.MaxBatch;

    [CommandOption("--max-context <T>")]
    [Description("Positions per sequence, prompt + completion (default: " + LoraLab.Serving.ServeOptions.DefaultMaxContextHelp + "). Every slot's KV cache is allocated at start: smaller, less memory.")]
    public int? MaxContext { get; set; }

    [CommandOption("--template <NAME>")]
    [Description("Chat template for models that record none (the base, adapters trained elsewhere): alpaca, chatml, llama2-chat, llama3, plain, or auto (the tokenizer's own). Adapters trained by loralab use their recorded one.")]
    public string? Template { get; set; }

    [CommandOption("--grace-seconds <S>")]
    [Description("On SIGTERM or Ctrl+C: new requests get 503, in-flight ones get this long to finish before they are cut.")]
    [DefaultValue(ServeOptionsDefaults.GraceSeconds)]
    public double GraceSeconds { get; set; } = ServeOptionsDefaults.GraceSeconds;

    public override Spectre.Console.ValidationResult Validate()
    {
        if (Port is < 0 or > 65535) throw new UserException($"--port {Port}: must be in [0, 65535]");
        if (MaxBatch < 1) throw new UserException($"--max-batch {MaxBatch}: must be at least 1");
        if (!(GraceSeconds >= 0) || double.IsInfinity(GraceSeconds)) throw new UserException($"--grace-seconds {GraceSeconds}: must be a number of seconds, 0 or more");
        return base.Validate();
    }
}

/// `loralab serve`: an OpenAI-compatible HTTP server over one base model and many LoRA adapters, batched together
/// (Serving.ServeEngine); the HTTP side lives in Cli/Serve.
public sealed class ServeCommand : Command<ServeSettings>
{
    public override int Execute(CommandContext context, ServeSettings s, CancellationToken cancellation) =>
        ServeHost.Run(s, cancellation);
}
