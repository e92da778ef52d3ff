namespace LoraLab.Sweeps.Methods;

/// The rule each finding is judged by, as the report prints it beside the verdict (MethodsFindings applies it).
/// "Counts" is the noise rule: a difference larger than twice LoRA's seed spread of that number, than 2% of the
/// number compared with, and, for a task score, than one held-out example's share.
public static class MethodRules
{
    static readonly Dictionary<string, string> All = new()
    {
        ["dora"] = "DoRA against LoRA (lora-seed1) at the same rank, alpha, data, steps and learning rate, on four numbers: the final validation loss (lower is better) " +
            "and each task score (higher is better). Reproduced when DoRA is better on at least one of them by a difference that counts and worse on none; " +
            "contradicted when it is worse on at least one by a difference that counts and better on none; inconclusive otherwise (no difference counts, or they point both ways).",
        ["pissa"] = "Convergence is the early train loss: the mean train loss over the first quarter of the steps (steps 1 to ⌈S/4⌉ of S, one metrics.jsonl row per step). " +
            "Reproduced when PiSSA's early train loss is lower than LoRA's (lora-seed1) by a difference that counts and its final validation loss is not higher by one; " +
            "contradicted when its early train loss is higher by a difference that counts, or its final validation loss is (a faster start that ends behind is not faster convergence); " +
            "inconclusive otherwise. PiSSA trains the same rank r as LoRA; its saved adapter has rank 2r (converted to the original base), so its trainable-parameter count reads twice LoRA's.",
        ["loraplus"] = "The same rule as PiSSA's: reproduced when LoRA+'s early train loss (mean over the first quarter of the steps) is lower than LoRA's (lora-seed1) by a difference " +
            "that counts and its final validation loss is not higher by one; contradicted when its early train loss or its final validation loss is higher by a difference that counts; " +
            "inconclusive otherwise. LoRA+ trains at the LoRA family's rate (A at --lr, B at 16 × --lr), as PEFT's flag is used on a LoRA setup: at a rate tuned for LoRA, 16 × may be too fast for B.",
        ["relora"] = "ReLoRA merges and restarts every quarter of the steps. Its accumulated update must have rank above r: the numerical rank of W − W_base (`loralab analyze`) of every " +
            "adapted projection, its smallest shown as 'update rank min'. Contradicted when that smallest rank is at most r. Otherwise, the claim presumes that full-rank training " +
            "beats LoRA: inconclusive when full fine-tuning's final validation loss is not lower than LoRA's (lora-seed1) by a difference that counts (no gap to close here); " +
            "then reproduced when ReLoRA's final validation loss is lower than LoRA's by a difference that counts (it moved toward full fine-tuning), contradicted when it is higher " +
            "by one (it moved away), inconclusive when the difference does not count. The share of the gap closed, (LoRA − ReLoRA) / (LoRA − full), is shown, not judged.",
        ["galore"] = "Optimizer memory: GaLore's state by its formula (for each projected weight out × in, its two moments r × max(out, in) and its projection r × min(out, in); AdamW's two " +
            "moments for the embedding and the norms; 4 bytes a value) against full fine-tuning's AdamW state (2 × parameters × 4 bytes); the size of the state each saved in its last " +
            "checkpoint (optimizer.bin) is shown beside it, measured. Contradicted when GaLore's state is not smaller by a difference that counts (2%), or its final validation loss is higher " +
            "than full fine-tuning's by a difference that counts; reproduced when it is lower by one, or within the noise while LoRA's differs from full fine-tuning's by a difference that " +
            "counts (the floor can tell a worse model from full fine-tuning here); inconclusive when it is within the noise and so is LoRA's (the floor is too coarse to tell). The floor is " +
            "LoRA's seeds: neither GaLore's nor full fine-tuning's own seed spread is measured.",
    };

    public static string Of(string id) => All[id];
}
