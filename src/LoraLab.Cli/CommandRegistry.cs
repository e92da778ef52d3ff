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
        config.AddCommand<ChatCommand>("chat").WithDescription("Chat on stdin with a model and adapter, prompts rendered with the adapter's training template (/exit quits).")
            .WithExample("chat", "--model", "models/tiny", "--adapter", "runs/a/adapter");
        config.AddCommand<ParamsCommand>("params").WithDescription("Total and trainable LoRA parameters (and quantized memory) from a config's shapes.")
            .WithExample("params", "--config", "llama-2-7b", "--targets", "all", "--rank", "8", "--quantize", "nf4");
        config.AddCommand<MergeCommand>("merge").WithDescription("Merge a LoRA adapter into its base and write a standalone Hugging Face model folder.")
            .WithExample("merge", "--model", "models/tiny", "--adapter", "runs/lora", "--out", "models/tiny-merged", "--dtype", "bf16");
        config.AddBranch("adapter", a =>
        {
            a.SetDescription("Check LoRA adapters.");
            a.AddCommand<AdapterValidateCommand>("validate").WithDescription("Check an adapter against a base: matched modules, shapes, base fingerprint, effect on the output.")
                .WithExample("adapter", "validate", "--model", "models/tiny", "--adapter", "runs/a/adapter");
        });
        config.AddBranch("data", d =>
        {
            d.SetDescription("Inspect training data as the model will see it.");
            d.AddCommand<DataPreviewCommand>("preview").WithDescription("Show examples tokenized and masked as training sees them, with warnings (doubled BOS, missing stop token, truncation).")
                .WithExample("data", "preview", "--model", "models/tiny", "--data", "alpaca.json", "-n", "3");
        });
        config.AddCommand<BenchCommand>("bench").WithDescription("Training-step speed, FLOP utilisation and peak memory on random tokens.")
            .WithExample("bench", "--config", "small", "--method", "lora", "--targets", "all", "--batch", "4", "--seq", "256", "--json");
        config.AddCommand<EstimateCommand>("estimate").WithDescription("Predicted peak memory of a training step, by part (weights, adapter, gradients, optimizer, activations).")
            .WithExample("estimate", "--config", "llama-2-7b", "--precision", "bf16", "--device", "cuda", "--batch", "1", "--seq", "512", "--compare-targets", "qv;all");
        config.AddCommand<DoctorCommand>("doctor").WithDescription("Check the machine, the native stack and the training math (packing, accumulation, merge, NF4).");
        config.AddCommand<DemoCommand>("demo").WithDescription("Offline demo: fine-tune the bundled tiny model on instruction tasks and compare held-out accuracy before and after.")
            .WithExample("demo").WithExample("demo", "--out", "runs/demo2", "--steps", "300");
        config.AddCommand<PretrainCommand>("pretrain").WithDescription("Train a small Llama model from scratch on a text corpus (default: the built-in demo corpus).")
            .WithExample("pretrain", "--out", "assets/demo-base", "--demo-data", "assets/demo-data");
    }
}
