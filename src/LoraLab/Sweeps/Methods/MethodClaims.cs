namespace LoraLab.Sweeps.Methods;

/// Each finding's title and the claim as its paper states it, in our words, with the paper.
public static class MethodClaims
{
    static readonly Dictionary<string, (string Title, string Claim)> All = new()
    {
        ["dora"] = ("DoRA against LoRA at equal rank",
            "Decomposing the weight into a magnitude and a direction and adapting the direction with LoRA consistently outperforms LoRA at the same rank, " +
            "at no extra inference cost (Liu et al., \"DoRA: Weight-Decomposed Low-Rank Adaptation\", ICML 2024, arXiv:2402.09353)."),
        ["pissa"] = ("PiSSA converges faster than LoRA",
            "Initialising A and B from the principal singular values and vectors of W (the residual kept frozen), instead of LoRA's noise and zero, " +
            "makes fine-tuning converge faster and end better than LoRA with the same number of trainable parameters " +
            "(Meng, Wang and Zhang, \"PiSSA: Principal Singular Values and Singular Vectors Adaptation of Large Language Models\", NeurIPS 2024, arXiv:2404.02948)."),
        ["loraplus"] = ("LoRA+ converges faster than LoRA",
            "Training B at a learning rate well above A's (a ratio of about 16) speeds fine-tuning up (up to about 2×) and improves it (1–2%) at the same cost " +
            "(Hayou, Ghosh and Yu, \"LoRA+: Efficient Low Rank Adaptation of Large Models\", ICML 2024, arXiv:2402.12354)."),
        ["relora"] = ("ReLoRA approaches full-rank training",
            "Merging the low-rank update into the weights and restarting it several times (with an optimizer reset and a jagged schedule) trains an " +
            "update of rank above r and comes close to full-rank training's result; shown for pre-training transformers of up to 1.3B parameters " +
            "(Lialin, Muckatira, Shivagunde and Rumshisky, \"ReLoRA: High-Rank Training Through Low-Rank Updates\", ICLR 2024, arXiv:2307.05695)."),
        ["galore"] = ("GaLore matches full fine-tuning with less optimizer memory",
            "Projecting each weight's gradient onto a low-rank subspace keeps Adam's state in that subspace, cutting optimizer memory (by up to 65.5%) " +
            "while matching full-rank training in pre-training and fine-tuning " +
            "(Zhao et al., \"GaLore: Memory-Efficient LLM Training by Gradient Low-Rank Projection\", ICML 2024, arXiv:2403.03507)."),
    };

    public static (string Title, string Claim) Of(string id) => All[id];
}
