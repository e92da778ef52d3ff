using static TorchSharp.torch;

namespace LoraLab.Adapters.Analysis;

/// The SVD of a product B·A (B: out × k, A: k × in) computed through its factors, never forming the out × in
/// matrix: B = Qb·Rb and Aᵀ = Qa·Ra (reduced QR), so B·A = Qb·(Rb·Raᵀ)·Qaᵀ and only the small core Rb·Raᵀ
/// (at most k × k) is decomposed. Cost O((out + in)·k²) instead of O(out·in·min(out, in)).
public static class FactoredSvd
{
    /// Singular values of B·A, largest first (float64, length min(k, out, in)).
    public static Tensor SingularValues(Tensor b, Tensor a)
    {
        using var scope = NewDisposeScope();
        return linalg.svdvals(Core(b, a, out _, out _)).MoveToOuterDisposeScope();
    }

    /// B·A ≈ Left·Right with Left (out × m), Right (m × in), m = min(rank, number of singular values): the best
    /// rank-m approximation (Eckart–Young), the singular values split evenly (√σ on each side) so neither factor
    /// dwarfs the other when the result is trained further.
    public static (Tensor Left, Tensor Right) Truncate(Tensor b, Tensor a, int rank)
    {
        using var scope = NewDisposeScope();
        var core = Core(b, a, out var qb, out var qa);
        var (u, s, vh) = linalg.svd(core, fullMatrices: false);
        long m = Math.Min(rank, s.shape[0]);
        var root = s.narrow(0, 0, m).sqrt();
        var left = qb.matmul(u.narrow(1, 0, m)).mul(root.unsqueeze(0));
        var right = root.unsqueeze(1).mul(vh.narrow(0, 0, m)).matmul(qa.t());
        return (left.MoveToOuterDisposeScope(), right.MoveToOuterDisposeScope());
    }

    static Tensor Core(Tensor b, Tensor a, out Tensor qb, out Tensor qa)
    {
        var (qB, rB) = linalg.qr(b.to(ScalarType.Float64));
        var (qA, rA) = linalg.qr(a.to(ScalarType.Float64).t());
        qb = qB;
        qa = qA;
        return rB.matmul(rA.t());
    }

    /// ‖P·Q‖_F through the factors: ‖PQ‖² = Σ (PᵀP) ∘ (QQᵀ), only k × k products.
    public static double FrobeniusNorm(Tensor p, Tensor q)
    {
        using var scope = NewDisposeScope();
        var gram = p.t().matmul(p).mul(q.matmul(q.t())).sum();
        return Math.Sqrt(Math.Max(0, gram.item<double>()));
    }
}
