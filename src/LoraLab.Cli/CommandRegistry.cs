using LoraLab.Cli.Commands;
using Spectre.Console.Cli;

namespace LoraLab.Cli;

/// Every verb of `loralab`, in the order `--help` lists them. One line per command.
public static class CommandRegistry
{
    public static void Register(IConfigurator config)
    {
        config.AddCommand<TrainCommand>("train").WithDescription("Fine-tune a model (LoRA, QLoRA or full) on an instruction dataset.")
            .WithExample("train", "--model", "models/base", "--data", "alpaca.json", "--out", "runs/a", "--targets", "all", "--r", "16", "--alpha", "32");
        config.AddCommand<EvalCommand>("eval").WithDescription("Mean next-token loss and perplexity of a model on a JSONL file.")
            .WithExample("eval", "--model", "models/tiny", "--data", "val.jsonl", "--json");
        config.AddCommand<GenerateCommand>("generate").WithDescription("Generate text from a prompt (KV cache; greedy at temperature 0).")
            .WithExample("generate", "--model", "models/tiny", "--prompt", "Once upon a time", "--max-new-tokens", "64");
        config.AddCommand<BenchCommand>("bench").WithDescription("Training-step speed, FLOP utilisation and peak memory on random tokens.")
            .WithExample("bench", "--config", "small", "--method", "lora", "--targets", "all", "--batch", "4", "--seq", "256", "--json");
        config.AddCommand<EstimateCommand>("estimate").WithDescription("Predicted peak memory of a training step, by part (weights, adapter, gradients, optimizer, activations).")
            .WithExample("estimate", "--config", "llama-2-7b", "--precision", "bf16", "--device", "cuda", "--batch", "1", "--seq", "512", "--compare-targets", "qv;all");
    }
}
