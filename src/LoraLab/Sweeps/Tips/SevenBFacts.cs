using LoraLab.Adapters;
using LoraLab.Estimation;
using LoraLab.Models;

namespace LoraLab.Sweeps.Tips;

/// Figures the preset computes rather than measures: Llama-2-7B's trainable parameters at r 8 for each target set
/// (as `loralab params` counts them), its predicted peak GPU memory in bytes under LoRA and QLoRA (as `loralab
/// estimate` predicts it), and how many bytes QLoRA's 4-bit base saves on the demo model's weights (what finding 2
/// could see at most).
public sealed record SevenBFacts(long TrainableKv, long TrainableQv, long TrainableAll, long QloraR256Bytes, long QloraR8Bytes,
    long LoraR8Bytes, long DemoQloraSavingBytes)
{
    public const string Arch = "llama-2-7b";

    /// The estimate's settings for the 7B figures: one sequence of 512 tokens in bf16 on a GPU.
    static MemoryEstimateOptions SevenB(string method, int r) =>
        new() { Method = method, Targets = "all", R = r, Batch = 1, Seq = 512, Precision = "bf16", Device = "cuda" };

    /// The `loralab estimate` command that prints the same figure.
    public static string Command(string method, int r)
    {
        var o = SevenB(method, r);
        return $"loralab estimate --arch {Arch} --method {o.Method} --rank {o.R} --targets {o.Targets} --precision {o.Precision} --device {o.Device} --micro-batch-size {o.Batch} --max-seq-length {o.Seq}";
    }

    public static SevenBFacts Compute(ModelConfig demo, TipsScale scale)
    {
        var c = KnownConfigs.Get(Arch);
        long Trainable(string targets) => ParamCounter.Count(c, new LoraConfig { R = 8, TargetModules = LoraTargets.Parse(targets) }).TrainableParameters;
        // the demo's weights in fp32 against 4-bit blocks and their constants, as estimate counts them
        MemoryEstimate Demo(string method) => MemoryEstimator.Estimate(demo, new MemoryEstimateOptions
            { Method = method, Targets = "all", R = TipsPlan.BaselineR, Batch = scale.BatchSize, Seq = TipsPlan.MaxSeqLength });
        var (lora, qlora) = (Demo("lora"), Demo("qlora"));
        return new SevenBFacts(Trainable("kv"), Trainable("qv"), Trainable("all"),
            MemoryEstimator.Estimate(c, SevenB("qlora", 256)).Total, MemoryEstimator.Estimate(c, SevenB("qlora", 8)).Total,
            MemoryEstimator.Estimate(c, SevenB("lora", 8)).Total, lora.Weights - qlora.Weights - qlora.QuantConstants);
    }
}
