using LoraLab.Cli.Commands;
using Spectre.Console.Cli;

namespace LoraLab.Cli;

/// Every verb of `loralab`, in the order `--help` lists them. One line per command.
public static class CommandRegistry
{
    /// The settings class of each verb ("train", "adapter validate"), recorded as the verbs are registered, so an
    /// error about a flag can list the verb's own flags (Spectre.Console.Cli does not expose its model).
    public static IReadOnlyDictionary<string, Type> SettingsByVerb => Verbs;
    static readonly Dictionary<string, Type> Verbs = new();

    public static void Register(IConfigurator config)
    {
        Add<TrainCommand>(config, "train").WithDescription("Fine-tune a model (LoRA, QLoRA or full) on an instruction dataset.")
            .WithExample("train", "--model", "models/base", "--data", "alpaca.json", "--out", "runs/a", "--targets", "all", "--r", "16", "--alpha", "32");
        Add<SweepCommand>(config, "sweep").WithDescription("Train every run of a sweep file (a grid of settings and/or listed runs) one after another; finished runs are skipped, failed ones recorded; --shard spreads it over machines, --collect merges their folders; results.csv and results.md list the runs.")
            .WithExample("sweep", "--config", "sweep.yaml", "--out", "sweeps/rank", "--dry-run").WithExample("sweep", "--config", "sweep.yaml", "--out", "sweeps/rank", "--shard", "0/4")
            .WithExample("sweep", "--collect", "sweeps/rank", "node2/sweeps/rank");
        Add<EvalCommand>(config, "eval").WithDescription("Mean next-token loss and perplexity of a model on a JSONL file.")
            .WithExample("eval", "--model", "models/tiny", "--data", "val.jsonl", "--json");
        Add<GenerateCommand>(config, "generate").WithDescription("Generate text from a prompt (KV cache; greedy at temperature 0).")
            .WithExample("generate", "--model", "models/tiny", "--prompt", "Once upon a time", "--max-new-tokens", "64");
        Add<ChatCommand>(config, "chat").WithDescription("Chat with a model and adapter: replies streamed, history kept within the context window, /reset, /exit; from a pipe one reply per line.")
            .WithExample("chat", "--model", "models/tiny", "--adapter", "runs/a/adapter");
        Add<ServeCommand>(config, "serve").WithDescription("Serve a base model and LoRA adapters over an OpenAI-compatible HTTP API, batching requests for different adapters together: /v1/models, /v1/chat/completions, /v1/completions (stream: true for server-sent events), /v1/load_lora_adapter and /v1/unload_lora_adapter (vLLM's), /health, /metrics. Without --threads the model gets every physical core but one (left to HTTP).")
            .WithExample("serve", "--model", "models/tiny", "--adapter", "support=runs/a/adapter", "--adapter", "sql=runs/b/adapter", "--port", "8000");
        Add<ParamsCommand>(config, "params").WithDescription("Total and trainable LoRA parameters (and quantized memory) from a config's shapes.")
            .WithExample("params", "--arch", "llama-2-7b", "--targets", "all", "--rank", "8", "--quantize", "nf4");
        Add<MergeCommand>(config, "merge").WithDescription("Merge a LoRA adapter into its base and write a standalone Hugging Face model folder.")
            .WithExample("merge", "--model", "models/tiny", "--adapter", "runs/lora", "--out", "models/tiny-merged", "--save-dtype", "bf16");
        Add<ReportCommand>(config, "report").WithDescription("Plots (loss, learning rate, tokens/s) and a table of final metrics of training runs, as report.md and a self-contained report.html.")
            .WithExample("report", "runs/a", "runs/b", "--out", "reports/ab");
        Add<CombineCommand>(config, "combine").WithDescription("Combine PEFT adapters of one base into one adapter (weighted sum, task arithmetic): cat, linear, svd, or PEFT's ties and dare merges.")
            .WithExample("combine", "runs/a/adapter", "runs/b/adapter", "--weights=1,-0.5", "--method", "svd", "--rank", "8", "--out", "adapters/a-minus-b");
        Add<AnalyzeCommand>(config, "analyze").WithDescription("Per-module singular values and effective rank of an adapter's ΔW, a suggested rank_pattern and a heat map; or of a merged model's W − W_base (ReLoRA).")
            .WithExample("analyze", "runs/a/adapter", "--base", "models/tiny", "--out", "runs/a/analysis")
            .WithExample("analyze", "runs/relora/model", "--base", "models/tiny");
        config.AddBranch("adapter", a =>
        {
            a.SetDescription("Check LoRA adapters.");
            Add<AdapterValidateCommand>(a, "validate", "adapter").WithDescription("Check an adapter against a base: matched modules, shapes, base fingerprint, effect on the output.")
                .WithExample("adapter", "validate", "--model", "models/tiny", "--adapter", "runs/a/adapter");
        });
        config.AddBranch("data", d =>
        {
            d.SetDescription("Inspect training data as the model will see it.");
            Add<DataPreviewCommand>(d, "preview", "data").WithDescription("Show examples tokenized and masked as training sees them, with warnings (doubled BOS, missing stop token, truncation).")
                .WithExample("data", "preview", "--model", "models/tiny", "--data", "alpaca.json", "-n", "3");
        });
        Add<DownloadCommand>(config, "download").WithDescription("Fetch a model or adapter from the Hugging Face Hub into the shared cache (the one Python uses) and print its folder.")
            .WithExample("download", "TinyLlama/TinyLlama-1.1B-Chat-v1.0").WithExample("download", "org/name@v1.0", "--include", "'*.json'", "--local-dir", "models/name");
        Add<BenchCommand>(config, "bench").WithDescription("Training-step speed, FLOP utilisation and peak memory on random tokens.")
            .WithExample("bench", "--arch", "small", "--method", "lora", "--targets", "all", "--batch-size", "4", "--max-seq-length", "256", "--json");
        Add<EstimateCommand>(config, "estimate").WithDescription("Predicted peak memory of a training step, by part (weights, adapter, gradients, optimizer, activations).")
            .WithExample("estimate", "--arch", "llama-2-7b", "--precision", "bf16", "--device", "cuda", "--micro-batch-size", "1", "--max-seq-length", "512", "--compare-targets", "qv;all");
        Add<DoctorCommand>(config, "doctor").WithDescription("Check the machine, the native stack, the Hugging Face Hub cache and the training math (packing, accumulation, merge, NF4).");
        Add<DemoCommand>(config, "demo").WithDescription("Offline demo: fine-tune the bundled tiny model on instruction tasks and compare held-out accuracy before and after.")
            .WithExample("demo").WithExample("demo", "--out", "runs/demo2", "--max-steps", "300");
        Add<PretrainCommand>(config, "pretrain").WithDescription("Train a small Llama model from scratch on a text corpus (default: the built-in demo corpus).")
            .WithExample("pretrain", "--out", "assets/demo-base", "--demo-data", "assets/demo-data");
    }

    static ICommandConfigurator Add<T>(IConfigurator config, string name) where T : class, ICommand
    {
        Record<T>(name);
        return config.AddCommand<T>(name);
    }

    static ICommandConfigurator Add<T>(IConfigurator<CommandSettings> branch, string name, string parent) where T : class, ICommandLimiter<CommandSettings>
    {
        Record<T>($"{parent} {name}");
        return branch.AddCommand<T>(name);
    }

    static void Record<T>(string verb)
    {
        for (var t = typeof(T); t is not null; t = t.BaseType)
            if (t.IsGenericType && t.GetGenericArguments() is [var settings] && settings.IsSubclassOf(typeof(CommandSettings)))
            {
                lock (Verbs) Verbs[verb] = settings;
                return;
            }
    }
}
