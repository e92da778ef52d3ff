using LoraLab.Adapters;
using LoraLab.Estimation;
using LoraLab.Models;

namespace LoraLab.Sweeps.Tips;

/// Llama-2-7B figures the preset computes rather than measures: trainable parameters at r 8 for each target set
/// (as `loralab params` counts them) and predicted peak GPU memory (as `loralab estimate` predicts it).
public sealed record SevenBFacts(long TrainableKv, long TrainableQv, long TrainableAll, double SevenBQloraMb, double LoraTotalMb, double QloraTotalMb)
{
    public const string Arch = "llama-2-7b";
    public const string Command = "loralab estimate --arch llama-2-7b --method qlora --rank 256 --targets all --precision bf16 --device cuda --micro-batch-size 1 --max-seq-length 512";

    public static SevenBFacts Compute()
    {
        var c = KnownConfigs.Get(Arch);
        long Trainable(string targets) => ParamCounter.Count(c, new LoraConfig { R = 8, TargetModules = LoraTargets.Parse(targets) }).TrainableParameters;
        double Mb(string method, int r) => MemoryEstimator.Estimate(c, new MemoryEstimateOptions
        {
            Method = method, Targets = "all", R = r, Batch = 1, Seq = 512, Precision = "bf16", Device = "cuda",
        }).Total / 1e6;
        return new SevenBFacts(Trainable("kv"), Trainable("qv"), Trainable("all"), Mb("qlora", 256), Mb("lora", 8), Mb("qlora", 8));
    }
}
