using LoraLab.Models;

namespace LoraLab.Training;

/// Which weights GaLore projects, its default rank and what its optimizer state holds, from names and shapes alone:
/// the optimizer (RunSetup), `estimate`, `train`'s plan and the rank check share these.
public static class GaloreWeights
{
    /// The decoder layers' attention and MLP projection matrices, the modules galore-torch's examples project
    /// ("attn", "mlp"); the embedding, the output layer and the norms stay on plain AdamW in the same optimizer.
    public static bool IsProjected(string name, IReadOnlyList<long> shape) =>
        shape.Count == 2 && name.StartsWith("model.layers.", StringComparison.Ordinal) && name.EndsWith("_proj.weight", StringComparison.Ordinal);

    /// hidden_size / 4: about the ratio of the paper's LLaMA pre-training runs (rank 512 at hidden size 2048 for 1B);
    /// galore-torch's README's 128 is for a 4096-wide 7B model fine-tuned on one GPU, far smaller than a quarter.
    public static int DefaultRank(ModelConfig c) => Math.Max(1, c.HiddenSize / 4);

    /// A rank above the smaller side of a projected weight would project onto more directions than the gradient has:
    /// refused, naming the flag, the weight and the largest rank that fits every projected weight.
    public static void CheckRank(int rank, IEnumerable<(string Name, long[] Shape)> weights, string flag)
    {
        var projected = weights.Where(w => IsProjected(w.Name, w.Shape)).ToList();
        if (projected.Count == 0) return;
        var smallest = projected.MinBy(w => Math.Min(w.Shape[0], w.Shape[1]));
        long fits = Math.Min(smallest.Shape[0], smallest.Shape[1]);
        if (rank > fits)
            throw new UserException($"{flag} {rank} is larger than {smallest.Name}'s smaller side ({smallest.Shape[0]} x {smallest.Shape[1]}); use at most {fits}");
    }

    /// Elements of GaLore-AdamW's state: for each projected weight (out × in) its two moments in the projected shape
    /// (r × max(out, in)) and its projection (r × min(out, in)); AdamW's two moments for every other weight.
    public static long StateElements(int rank, IEnumerable<(string Name, long[] Shape)> weights) => weights.Sum(w =>
    {
        if (!IsProjected(w.Name, w.Shape)) return 2 * w.Shape.Aggregate(1L, (a, b) => a * b);
        long big = Math.Max(w.Shape[0], w.Shape[1]), small = Math.Min(w.Shape[0], w.Shape[1]);
        return 2L * rank * big + (long)rank * small;
    });
}
