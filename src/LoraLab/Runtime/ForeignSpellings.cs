namespace LoraLab.Runtime;

/// Setting names users bring from Hugging Face Trainer/PEFT, Axolotl and LitGPT (kebab case), and LoraLab's name
/// for the same thing. Only suggestions: a name here is still an unknown flag or key.
public static class ForeignSpellings
{
    public static readonly IReadOnlyDictionary<string, string> Map = new Dictionary<string, string>
    {
        ["learning-rate"] = "lr",
        ["lr-scheduler-type"] = "schedule", ["lr-scheduler"] = "schedule", ["scheduler"] = "schedule",
        ["num-train-epochs"] = "epochs", ["num-epochs"] = "epochs",
        ["per-device-train-batch-size"] = "micro-batch-size", ["train-batch-size"] = "batch-size", ["global-batch-size"] = "batch-size",
        ["gradient-accumulation-steps"] = "batch-size",
        ["output-dir"] = "out", ["output"] = "out",
        ["model-name-or-path"] = "model", ["base-model"] = "model",
        ["dataset"] = "data", ["datasets"] = "data", ["train-file"] = "data", ["data-path"] = "data",
        ["lora-r"] = "r", ["lora-rank"] = "r", ["lora-alpha"] = "alpha",
        ["rank"] = "r", // train's own long flag (--rank, alias --r); the YAML key is r
        ["target-modules"] = "targets", ["lora-target-modules"] = "targets",
        ["sequence-len"] = "max-seq-length", ["max-length"] = "max-seq-length", ["cutoff-len"] = "max-seq-length",
        ["model-max-length"] = "max-seq-length", ["max-seq-len"] = "max-seq-length",
        ["optim"] = "optimizer", ["warmup"] = "warmup-steps",
        ["save-steps"] = "save-every", ["eval-steps"] = "eval-every", ["logging-steps"] = "log-every",
        ["val-set-size"] = "val-fraction", ["resume-from-checkpoint"] = "resume", ["num-threads"] = "threads",
        ["max-tokens"] = "max-new-tokens", ["num-steps"] = "max-steps",
    };
}
