namespace LoraLab.Cli.Commands;

/// The flags several verbs take, spelt once, as `train` spells them, so one flag means one thing in every verb.
/// Help text is shared where the meaning and the accepted values are the same; where a verb accepts other values
/// (bench's fp32/bf16 against train's fp16-mixed) or has another default, the verb describes its own. Old spellings
/// (bench's --batch, generate's --dtype, ...) live in FlagAliases.
public static class SharedFlags
{
    /// An architecture by name or config.json path, where no weights are loaded (bench, estimate, params).
    public const string Arch = "--arch <NAME|FILE>";
    public const string ArchHelp = "Architecture: a known name (" + ArchNames + ") or a config.json path (a model's, not a run YAML: `train --config` takes that).";
    /// Models.KnownConfigs.Names, written out because an attribute needs a constant (a test keeps them equal).
    public const string ArchNames = "tiny, small, medium, llama-2-7b, llama-2-13b, llama-3-8b, mistral-7b";

    public const string Threads = "--threads <N>";
    public const string ThreadsHelp = "CPU threads for libtorch (default: the physical cores).";
    public const string Device = "--device <DEVICE>";
    public const string DeviceHelp = "auto (CUDA if available, else CPU), cpu or cuda.";
    public const string Precision = "--precision <P>";
    public const string Seed = "--seed <N>";

    public const string Method = "--method <METHOD>";
    public const string Targets = "--targets <T>";
    public const string Rank = "-r|--rank <R>";
    public const string Alpha = "--alpha <A>";
    public const string Quantize = "--quantize <Q>";
    public const string Lr = "--lr <LR>";

    public const string BatchSize = "--batch-size <N>";
    public const string MicroBatchSize = "--micro-batch-size <N>";
    public const string MaxSeqLength = "--max-seq-length <N>";
    public const string MaxSteps = "--max-steps <N>";
}
