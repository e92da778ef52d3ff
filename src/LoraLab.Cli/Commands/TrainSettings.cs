using System.ComponentModel;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

/// `loralab train` flags. Each is also a key of the YAML run config (`--micro-batch-size` = `micro_batch_size`);
/// property names equal RunConfig's, so mapping is by name.
public sealed class TrainSettings : CommandSettings
{
    [CommandOption("--config <YAML>")][Description("YAML run config; flags given on the command line override it.")]
    public string? ConfigFile { get; set; }
    [CommandOption("--model <DIR>")][Description("Base model: a Hugging Face model folder.")]
    public string? Model { get; set; }
    [CommandOption("--data <FILE>")][Description("Training data: Alpaca JSON/JSONL, chat (messages), ShareGPT, text, input_ids, or Parquet.")]
    public string? Data { get; set; }
    [CommandOption(DataReadFlags.MaxRecordBytes)][Description(DataReadFlags.MaxRecordBytesHelp)] public long? MaxRecordBytes { get; set; }
    [CommandOption(DataReadFlags.EncodingErrors)][Description(DataReadFlags.EncodingErrorsHelp)] public string? EncodingErrors { get; set; }
    [CommandOption("--val-data <FILE>")][Description("Validation data (otherwise --val-fraction of --data is held out).")]
    public string? ValData { get; set; }
    [CommandOption("--out <DIR>")][Description("Output folder: adapter/, checkpoints/, metrics.jsonl, run.yaml.")]
    public string? Out { get; set; }
    [CommandOption("--overwrite")][Description("Allow writing into a non-empty --out folder.")]
    public bool Overwrite { get; set; }
    [CommandOption("--resume <DIR>")][Description("Continue a run: its folder (settings from its run.yaml, its newest checkpoint) or one checkpoint folder (weights, optimizer, schedule, data position, RNG).")]
    public string? Resume { get; set; }
    [CommandOption("--allow-config-change")][Description("On --resume, apply settings that differ from the run's run.yaml (data, base, seed, batch, LoRA shape, schedule); they are recorded.")]
    public bool AllowConfigChange { get; set; }
    [CommandOption("--method <METHOD>")][Description("lora, qlora (4-bit base + LoRA) or full (all weights; the baseline).")]
    public string? Method { get; set; }
    [CommandOption("--device <DEVICE>")][Description("auto, cpu or cuda.")]
    public string? Device { get; set; }
    [CommandOption("--precision <P>")][Description("auto (fp32 on CPU, bf16 on CUDA), fp32, bf16 or fp16-mixed (fp16 base, fp32 adapters, dynamic loss scaling; LoRA/QLoRA only).")]
    public string? Precision { get; set; }
    [CommandOption("--template <NAME>")][Description("Prompt template: alpaca, chatml, llama2-chat, llama3, plain, or auto (the model's own chat template when it is one of these).")]
    public string? Template { get; set; }
    [CommandOption("--max-seq-length <N>")][Description("Longest example in tokens.")]
    public int? MaxSeqLength { get; set; }
    [CommandOption("--long-examples <POLICY>")][Description("truncate or drop examples over --max-seq-length.")]
    public string? LongExamples { get; set; }
    [CommandOption("--train-on-inputs")][Description("Also train on prompt tokens (default: responses only).")]
    public bool? TrainOnInputs { get; set; }
    [CommandOption("--packing")][Description("Pack examples into full rows (block-diagonal attention, per-example positions).")]
    public bool? Packing { get; set; }
    [CommandOption("--val-fraction <F>")][Description("Share of --data held out for validation.")]
    public double? ValFraction { get; set; }
    [CommandOption("--lr <LR>")][Description("Peak learning rate.")]
    public double? Lr { get; set; }
    [CommandOption("--batch-size <N>")][Description("Global batch size in examples.")]
    public int? BatchSize { get; set; }
    [CommandOption("--micro-batch-size <N>")][Description("Examples per forward pass; gradients accumulate to --batch-size.")]
    public int? MicroBatchSize { get; set; }
    [CommandOption("--max-steps <N>")][Description("Stop after N optimizer steps (overrides --epochs).")]
    public int? MaxSteps { get; set; }
    [CommandOption("--epochs <N>")][Description("Passes over the data. More can overfit: watch val loss per epoch.")]
    public int? Epochs { get; set; }
    [CommandOption("--seed <N>")][Description("Fixes data order, initialisation and dropout.")]
    public int? Seed { get; set; }
    [CommandOption("--optimizer <NAME>")][Description("adamw, adam or sgd.")]
    public string? Optimizer { get; set; }
    [CommandOption("--weight-decay <W>")][Description("Decoupled weight decay (AdamW) or L2 penalty (Adam, SGD).")]
    public double? WeightDecay { get; set; }
    [CommandOption("--momentum <M>")][Description("SGD momentum.")]
    public double? Momentum { get; set; }
    [CommandOption("--nesterov")][Description("Nesterov momentum for SGD.")]
    public bool? Nesterov { get; set; }
    [CommandOption("--schedule <NAME>")][Description("constant, linear or cosine, each after linear warmup.")]
    public string? Schedule { get; set; }
    [CommandOption("--warmup-steps <N>")][Description("Linear warmup steps (overrides --warmup-ratio).")]
    public int? WarmupSteps { get; set; }
    [CommandOption("--warmup-ratio <F>")][Description("Warmup as a share of all steps (when --warmup-steps is not given).")]
    public double? WarmupRatio { get; set; }
    [CommandOption("--min-lr <LR>")][Description("Floor of the linear/cosine decay.")]
    public double? MinLr { get; set; }
    [CommandOption("--max-grad-norm <N>")][Description("Clip gradients to this global norm (0 = off).")]
    public double? MaxGradNorm { get; set; }
    [CommandOption("--eval-every <N>")][Description("Validation loss every N steps (and always at each epoch end).")]
    public int? EvalEvery { get; set; }
    [CommandOption("--save-every <N>")][Description("Checkpoint every N steps (and always at the end).")]
    public int? SaveEvery { get; set; }
    [CommandOption("--save-total-limit <N>")][Description("Keep only the newest N checkpoints (default: all).")]
    public int? SaveTotalLimit { get; set; }
    [CommandOption("--log-every <N>")][Description("Train loss to metrics.jsonl every N steps.")]
    public int? LogEvery { get; set; }
    [CommandOption("-r|--rank <R>")][Description("LoRA rank r (`--r` works too).")]
    public int? R { get; set; }
    [CommandOption("--alpha <A>")][Description("LoRA alpha; the update is scaled by alpha/r (rule of thumb: alpha = 2r).")]
    public double? Alpha { get; set; }
    [CommandOption("--lora-dropout <P>")][Description("Dropout on the LoRA branch's input.")]
    public double? LoraDropout { get; set; }
    [CommandOption("--targets <T>")][Description("all, attn, mlp, qv, kv, or module names like q_proj,v_proj.")]
    public string? Targets { get; set; }
    [CommandOption("--lora-head")][Description("Also adapt lm_head.")]
    public bool? LoraHead { get; set; }
    [CommandOption("--use-rslora")][Description("Scale by alpha/sqrt(r) (rank-stabilised LoRA).")]
    public bool? UseRslora { get; set; }
    [CommandOption("--quantize <Q>")][Description("Base quantization for --method qlora: nf4 (default), fp4, int8.")]
    public string? Quantize { get; set; }
    [CommandOption("--threads <N>")][Description("CPU threads for libtorch (default: the physical cores).")]
    public int? Threads { get; set; }
    [CommandOption("--streams <N>")][Description("Split each micro-batch over N single-threaded slices run side by side on the CPU (1 = off; needs LoRA/QLoRA with --lora-dropout 0). Faster on small CPUs, more memory.")]
    public int? Streams { get; set; }
    [CommandOption("--stop-rate-prompts <N>")][Description("After training, greedy-generate this many held-out prompts (0 = skip) and report how many stop, base vs tuned.")]
    public int? StopRatePrompts { get; set; }

    /// Numeric flags against their ranges (SettingRanges), before any file is read or written.
    public override Spectre.Console.ValidationResult Validate()
    {
        ToRunConfig().CheckRanges(LoraLab.Training.RunConfig.FlagName);
        return base.Validate();
    }

    public LoraLab.Training.RunConfig ToRunConfig()
    {
        var r = new LoraLab.Training.RunConfig();
        foreach (var p in typeof(LoraLab.Training.RunConfig).GetProperties())
            if (GetType().GetProperty(p.Name)?.GetValue(this) is { } v) p.SetValue(r, v);
        return r;
    }
}
