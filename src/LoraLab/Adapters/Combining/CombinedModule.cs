using LoraLab.Adapters.Analysis;
using static TorchSharp.torch;

namespace LoraLab.Adapters.Combining;

/// One module of the combined adapter: factors with scaling 1 (every input's wᵢ·sᵢ is folded into B), so the
/// writer can give it alpha = r and the product B·A is the update itself.
public sealed record CombinedModule(string Path, Tensor B, Tensor A, double RelativeError)
{
    public int R => (int)A.shape[0];

    /// Combines one module's factors from each adapter with its weight. `sources[i]` belongs to `o.Weights[i]`;
    /// `generator` feeds dare's draws (modules in order, adapters in order within each).
    public static CombinedModule Build(IReadOnlyList<ModuleFactors> sources, CombineOptions o, Generator? generator = null)
    {
        int r = o.Rank ?? sources.Max(m => m.R);
        if (o.Method.IsEntryWise()) return EntryWise(sources, o, r, generator);
        using var scope = NewDisposeScope();
        var path = sources[0].Path;
        var (weights, method) = (o.Weights, o.Method);
        // Σ wᵢ·sᵢ·Bᵢ·Aᵢ = [w₁s₁B₁ | w₂s₂B₂ | …] · [A₁; A₂; …]: the exact sum as one (out, Σrᵢ) × (Σrᵢ, in) product.
        var stackedB = cat(sources.Select((m, i) => m.B.mul(weights[i] * m.Scaling)).ToArray(), 1);
        var stackedA = cat(sources.Select(m => m.A).ToArray(), 0);
        Tensor b, a;
        switch (method)
        {
            case CombineMethod.Cat:
                long side = Math.Min(sources[0].InFeatures, sources[0].OutFeatures);
                if (stackedA.shape[0] > side)
                    throw new UserException($"cat gives module '{path}' rank {stackedA.shape[0]}, more than its smaller side ({side}), which a LoRA adapter cannot hold; use --method svd --rank {side} (or lower)");
                (b, a) = (stackedB, stackedA);
                break;
            case CombineMethod.Linear:
                if (sources.Select(m => m.R).Distinct().Count() > 1)
                    throw new UserException($"linear needs the same rank in every adapter, but module '{path}' has ranks {string.Join(", ", sources.Select(m => m.R))}; use --method cat or svd");
                // √(|w|·s) on each factor, the sign on A: one adapter alone comes out exactly as w·s·B·A.
                b = sources.Select((m, i) => m.B.mul(Math.Sqrt(Math.Abs(weights[i]) * m.Scaling))).Aggregate((x, y) => x.add(y));
                a = sources.Select((m, i) => m.A.mul(Math.Sign(weights[i]) * Math.Sqrt(Math.Abs(weights[i]) * m.Scaling))).Aggregate((x, y) => x.add(y));
                break;
            case CombineMethod.Svd:
                (b, a) = FactoredSvd.Truncate(stackedB, stackedA, r);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(method));
        }
        double target = FactoredSvd.FrobeniusNorm(stackedB, stackedA);
        double error = method == CombineMethod.Cat ? 0
            : FactoredSvd.FrobeniusNorm(cat(new[] { b, stackedB.neg() }, 1), cat(new[] { a, stackedA }, 0));
        double relative = target > 0 ? error / target : error > 0 ? double.PositiveInfinity : 0;
        return new CombinedModule(path, b.to(ScalarType.Float32).MoveToOuterDisposeScope(), a.to(ScalarType.Float32).MoveToOuterDisposeScope(), relative);
    }

    /// ties / dare / dare-ties on the dense ΔWᵢ = sᵢ·Bᵢ·Aᵢ (float64), then the best rank-r factors of the result.
    /// RelativeError is the truncation's, ‖ΔW' − merged‖_F / ‖merged‖_F (the merge itself changes ΔW by design).
    static CombinedModule EntryWise(IReadOnlyList<ModuleFactors> sources, CombineOptions o, int rank, Generator? generator)
    {
        using var scope = NewDisposeScope();
        var deltas = sources.Select(m => m.B.matmul(m.A).mul(m.Scaling)).ToList();
        double density = o.Density ?? throw new ArgumentException("density is required", nameof(o));
        var sign = o.MajoritySign ?? MajoritySign.Total;
        var merged = o.Method switch
        {
            CombineMethod.Ties => TaskMerging.Ties(deltas, o.Weights, density, sign),
            CombineMethod.Dare => TaskMerging.Dare(deltas, o.Weights, density, generator!),
            CombineMethod.DareTies => TaskMerging.DareTies(deltas, o.Weights, density, sign, generator!),
            _ => throw new ArgumentOutOfRangeException(nameof(o)),
        };
        var (u, s, vh) = linalg.svd(merged, fullMatrices: false);
        long m = Math.Min(rank, s.shape[0]);
        // √σ on each side, as FactoredSvd.Truncate splits them
        var root = s.narrow(0, 0, m).sqrt();
        var b = u.narrow(1, 0, m).mul(root.unsqueeze(0));
        var a = root.unsqueeze(1).mul(vh.narrow(0, 0, m));
        double total = s.square().sum().item<double>();
        double dropped = s.narrow(0, m, s.shape[0] - m).square().sum().item<double>();
        double relative = total > 0 ? Math.Sqrt(dropped / total) : 0;
        return new CombinedModule(sources[0].Path, b.to(ScalarType.Float32).MoveToOuterDisposeScope(), a.to(ScalarType.Float32).MoveToOuterDisposeScope(), relative);
    }
}
