namespace LoraLab.Sweeps.Tips;

/// Each finding's title and the claim as Sebastian Raschka's "Practical Tips for Finetuning LLMs Using LoRA" (2023)
/// reports it, in our words; where the article only raises a question, the claim says so.
public static class Claims
{
    static readonly Dictionary<string, (string Title, string Claim)> All = new()
    {
        ["seeds"] = ("Consistency across seeds", "Despite the randomness of training, the outcomes are remarkably consistent across runs."),
        ["qlora"] = ("QLoRA against LoRA", "QLoRA (a 4-bit NF4 base with double quantization) saves about 33% of the memory at the cost of about 39% more runtime."),
        ["optimizers"] = ("Optimizers and schedules", "The choice of optimizer matters little: AdamW, SGD with a scheduler and AdamW with a scheduler give minimal variation; SGD on its own is suboptimal."),
        ["adam-memory"] = ("Adam's memory", "Adam keeps two extra values per trainable parameter, yet this barely moves LoRA's peak memory: its trainable parameters are few, and most memory goes to the large matrix multiplications (at large ranks the difference becomes visible)."),
        ["epochs"] = ("Several epochs", "For a static dataset, iterating several times may not help and often makes the results worse, probably from overfitting."),
        ["targets"] = ("Which layers to adapt", "Apply LoRA to all layers, not only the key and value matrices, for the best model; on a 7B model (r 8) that raises the trainable parameters from about 4.2 M to about 20 M."),
        ["rank-alpha"] = ("Rank and alpha", "Choose the rank r and alpha together; alpha = 2 × r is a good heuristic (in the original runs r 256 with alpha 512 did best)."),
        ["lora-vs-full"] = ("LoRA against full fine-tuning", "Not measured in the article, and LoRA's premise: LoRA comes close to full fine-tuning's quality while training a small fraction of the parameters in less memory."),
        ["one-dataset"] = ("One dataset, several benchmarks", "With one static dataset a model cannot be made to excel at every benchmark: some improve, others do not; that needs more diverse data."),
        ["combining"] = ("Combining LoRA weights", "Raised in the article's Q&A, not tested there: several sets of LoRA weights can be combined. Tested here: whether a combination of two adapters keeps each one's skill."),
        ["layerwise-rank"] = ("Rank per layer", "Raised in the article's Q&A, not tested there: different layers could use different ranks. Tested here: the ranks `loralab analyze` suggests per module against one rank everywhere at about the same number of parameters."),
        ["7b"] = ("A 7B model on one GPU", "7B models can be fine-tuned efficiently within a few hours on a single GPU with 14 GB of memory (QLoRA; about 3 hours on an A100 for 50k Alpaca examples)."),
    };

    public static (string Title, string Claim) Of(string id) => All[id];
}
