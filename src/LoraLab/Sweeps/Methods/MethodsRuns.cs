namespace LoraLab.Sweeps.Methods;

/// The methods preset's runs, by the name each gets under DIR/runs/.
public static class MethodsRuns
{
    public const string Dora = "dora", Pissa = "pissa", LoraPlus = "loraplus", Relora = "relora", Galore = "galore", Full = "full";

    /// LoRA (the lora-tips baseline: all linear layers, r 16, alpha 32, AdamW with a cosine schedule) with seed k
    /// (1-based). Every other run uses seed 1 and differs from lora-seed1 by its method's settings alone.
    public static string Seed(int k) => $"lora-seed{k}";
    public static readonly string Lora = Seed(1);
    public static IReadOnlyList<string> Seeds => [.. Enumerable.Range(1, MethodsScale.Seeds).Select(Seed)];

    /// Every run, in the order the report lists them.
    public static IReadOnlyList<string> All => [.. Seeds, Dora, Pissa, LoraPlus, Relora, Galore, Full];
}
