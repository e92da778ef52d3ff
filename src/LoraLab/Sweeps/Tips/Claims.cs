namespace LoraLab.Sweeps.Tips;

/// Each finding's title and the claim as originally reported (Sebastian Raschka, "Practical Tips for Finetuning LLMs
/// Using LoRA"), in our words.
public static class Claims
{
    static readonly Dictionary<string, (string Title, string Claim)> All = new()
    {
        ["seeds"] = ("Consistency across seeds", "LoRA runs are consistent: the same settings with different random seeds give nearly the same result."),
        ["qlora"] = ("QLoRA against LoRA", "QLoRA (a 4-bit NF4 base with double quantization) needs about a third less memory, at about 39% slower training."),
        ["optimizers"] = ("Optimizers and schedules", "AdamW, AdamW with a cosine schedule and SGD with a cosine schedule give about the same results; only SGD without a scheduler falls behind."),
        ["adam-memory"] = ("Adam's memory", "Adam keeps two extra values per trainable parameter, which matters little for LoRA because it trains few parameters."),
        ["epochs"] = ("Several epochs", "Training for more epochs over the same data may hurt: multi-epoch training can overfit."),
        ["targets"] = ("Which layers to adapt", "LoRA on all linear layers works best, better than on the k,v or q,v projections only; on a 7B model (r 8) it trains about 20 M instead of about 4.2 M parameters."),
        ["rank-alpha"] = ("Rank and alpha", "alpha = 2 × r is a good rule of thumb (in the original runs, r 256 with alpha 512 did best)."),
        ["lora-vs-full"] = ("LoRA against full fine-tuning", "LoRA comes close to full fine-tuning while training a small fraction of the parameters in less memory."),
        ["one-dataset"] = ("One dataset, several benchmarks", "Fine-tuning on one dataset rarely lifts every benchmark: some improve, others stay or drop."),
        ["combining"] = ("Combining LoRA weights", "Adapters trained on different tasks can be combined into one adapter that keeps both skills."),
        ["layerwise-rank"] = ("Rank per layer", "Layers want different ranks: a rank per module, where the update needs it, does better than one rank everywhere at the same number of parameters."),
        ["7b"] = ("A 7B model on one GPU", "A 7B model fine-tunes with QLoRA (r 256, alpha 512) on one GPU in about 14 GB, in about 3 hours on an A100 for 50k Alpaca examples."),
    };

    public static (string Title, string Claim) Of(string id) => All[id];
}
