using static TorchSharp.torch;

namespace LoraLab.Adapters.Combining;

/// How TIES elects each entry's sign across the trimmed ΔWᵢ (PEFT's majority_sign_method): `Total` by the sign of
/// their sum (the larger mass wins), `Frequency` by the sign more of them have. A tie (0) elects +.
public enum MajoritySign { Total, Frequency }

/// The entry-wise merging steps of TIES (Yadav et al. 2023) and DARE (Yu et al. 2023) with the semantics of PEFT's
/// merge_utils, on dense ΔWᵢ (out × in, one per adapter): these methods decide per entry, so unlike cat and svd
/// they need each module's full matrices (n + 1 of out × in in float64 at a time).
public static class TaskMerging
{
    /// Keeps the k = ⌊density·numel⌋ entries of largest magnitude and zeroes the rest; density ≥ 1 keeps all.
    public static Tensor MagnitudeTrim(Tensor delta, double density)
    {
        if (density >= 1) return delta.clone();
        using var scope = NewDisposeScope();
        long k = (long)(density * delta.numel());
        var mask = zeros(delta.numel(), dtype: delta.dtype, device: delta.device);
        if (k > 0) mask.index_fill_(0, delta.reshape(-1).abs().topk((int)k).indexes, 1);
        return delta.mul(mask.reshape(delta.shape)).MoveToOuterDisposeScope();
    }

    /// DARE's drop and rescale: each entry kept with probability density (Bernoulli draws from `generator`) and the
    /// kept ones divided by density, so the expectation is ΔW; density ≥ 1 keeps all and draws nothing.
    public static Tensor RandomDrop(Tensor delta, double density, Generator generator)
    {
        if (density >= 1) return delta.clone();
        using var scope = NewDisposeScope();
        var keep = bernoulli(full_like(delta, density), generator);
        return delta.mul(keep).div(density).MoveToOuterDisposeScope();
    }

    /// For trimmed ΔWᵢ stacked on dim 0 (n, out, in): true where an entry's sign is the elected one. Zeroed entries
    /// (sign 0) never agree, so they do not count in the mean.
    public static Tensor AgreeingMask(Tensor stacked, MajoritySign method)
    {
        using var scope = NewDisposeScope();
        var sign = stacked.sign();
        var mass = method == MajoritySign.Total ? stacked.sum(0L) : sign.sum(0L);
        var elected = where(mass.ge(0), ones_like(mass), ones_like(mass).neg());
        return sign.eq(elected).MoveToOuterDisposeScope();
    }

    /// The disjoint mean: per entry, the sum of the weighted entries that agree with the elected sign divided by how
    /// many agree (0 where none do). The sign is elected on the unweighted ΔWᵢ, as PEFT does.
    public static Tensor DisjointMean(Tensor stacked, IReadOnlyList<double> weights, Tensor agreeing)
    {
        using var scope = NewDisposeScope();
        var w = tensor(weights.ToArray(), dtype: stacked.dtype, device: stacked.device).view(-1, 1, 1);
        var kept = agreeing.to(stacked.dtype);
        var sum = stacked.mul(w).mul(kept).sum(0L);
        return sum.div(kept.sum(0L).clamp_min(1)).MoveToOuterDisposeScope();
    }

    /// TIES: trim each ΔWᵢ to density by magnitude, elect the signs, average the agreeing weighted entries.
    public static Tensor Ties(IReadOnlyList<Tensor> deltas, IReadOnlyList<double> weights, double density, MajoritySign sign)
    {
        using var scope = NewDisposeScope();
        var stacked = stack(deltas.Select(d => MagnitudeTrim(d, density)).ToArray(), 0);
        return DisjointMean(stacked, weights, AgreeingMask(stacked, sign)).MoveToOuterDisposeScope();
    }

    /// DARE (linear): drop and rescale each ΔWᵢ, then the weighted sum Σ wᵢ·ΔWᵢ.
    public static Tensor Dare(IReadOnlyList<Tensor> deltas, IReadOnlyList<double> weights, double density, Generator generator)
    {
        using var scope = NewDisposeScope();
        var sum = deltas.Select((d, i) => RandomDrop(d, density, generator).mul(weights[i])).Aggregate((x, y) => x.add(y));
        return sum.MoveToOuterDisposeScope();
    }

    /// DARE-TIES: DARE's drop and rescale in place of TIES's trim, then TIES's sign election and disjoint mean.
    public static Tensor DareTies(IReadOnlyList<Tensor> deltas, IReadOnlyList<double> weights, double density, MajoritySign sign, Generator generator)
    {
        using var scope = NewDisposeScope();
        var stacked = stack(deltas.Select(d => RandomDrop(d, density, generator)).ToArray(), 0);
        return DisjointMean(stacked, weights, AgreeingMask(stacked, sign)).MoveToOuterDisposeScope();
    }
}
