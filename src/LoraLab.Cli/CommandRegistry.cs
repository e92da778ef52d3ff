using LoraLab.Cli.Commands;
using Spectre.Console.Cli;

namespace LoraLab.Cli;

/// Every verb of `loralab`, in the order `--help` lists them. One line per command.
public static class CommandRegistry
{
    public static void Register(IConfigurator config)
    {
        config.AddCommand<EvalCommand>("eval").WithDescription("Mean next-token loss and perplexity of a model on a JSONL file.")
            .WithExample("eval", "--model", "models/tiny", "--data", "val.jsonl", "--json");
        config.AddCommand<GenerateCommand>("generate").WithDescription("Generate text from a prompt (KV cache; greedy at temperature 0).")
            .WithExample("generate", "--model", "models/tiny", "--prompt", "Once upon a time", "--max-new-tokens", "64");
        config.AddCommand<DemoCommand>("demo").WithDescription("Offline demo: fine-tune the bundled tiny model on instruction tasks and compare held-out accuracy before and after.")
            .WithExample("demo").WithExample("demo", "--out", "runs/demo2", "--steps", "300");
        config.AddCommand<PretrainCommand>("pretrain").WithDescription("Train a small Llama model from scratch on a text corpus (default: the built-in demo corpus).")
            .WithExample("pretrain", "--out", "assets/demo-base", "--demo-data", "assets/demo-data");
    }
}
