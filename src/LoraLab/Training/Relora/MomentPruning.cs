using LoraLab.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Training.Relora;

/// ReLoRA's partial optimizer reset (Lialin et al. 2023, §3): at each restart every moment tensor of the adapters
/// keeps only its largest entries by magnitude and the rest become 0. The paper prunes 99%, so the fresh adapter
/// starts almost from a clean state without the instability of a full reset.
public static class MomentPruning
{
    /// How many of `n` entries are kept: ⌈n/100⌉ (at least one of a non-empty tensor), in integers so that 1% of
    /// 100 is exactly 1.
    public static long KeptOf(long n) => n <= 0 ? 0 : (n + 99) / 100;

    /// Each moment keeps its top 1% by magnitude; then Adam's m is also zeroed wherever v was pruned. Pruned
    /// independently, an entry could keep m with v = 0, and Adam's next step there is lr·m/ε (its denominator is
    /// √v + ε, ε = 1e-8): right after a restart A's gradient is exactly 0 (B = 0), so v stays 0 and A jumps by
    /// orders of magnitude (measured on the demo: the accumulated update's σ₁ went from about 0.5 to 72).
    public static void Prune(Moments moments)
    {
        foreach (var t in new[] { moments.First, moments.Second, moments.MaxSecond })
            if (t is not null) KeepLargest(t);
        if (moments.First is not { } m || moments.Second is not { } v) return;
        using var _ = no_grad();
        using var alive = v.ne(0);
        if (moments.MaxSecond is { } vmax) { using var alsoMax = vmax.ne(0); alive.logical_or_(alsoMax); } // AMSGrad divides by max(vmax, v)
        m.mul_(alive);
    }

    /// Zeroes `t` in place except its ⌈1%⌉ entries of largest |value| (ties broken by topk's choice); those keep their values.
    public static void KeepLargest(Tensor t)
    {
        long n = t.numel();
        if (n == 0) return;
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var flat = t.is_contiguous() ? t.view(-1) : t.reshape(-1);
        var (_, index) = flat.abs().topk((int)Math.Min(KeptOf(n), int.MaxValue), sorted: false);
        var kept = flat.index_select(0, index);
        flat.zero_();
        flat.index_copy_(0, index, kept);
        if (!t.is_contiguous()) t.copy_(flat.view(t.shape));
    }
}
