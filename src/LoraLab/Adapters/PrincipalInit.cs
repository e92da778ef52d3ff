using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Adapters;

/// PiSSA and OLoRA: A and B taken from the base weight W itself, so training starts in W's principal (or leading
/// orthogonal) directions; the base then keeps W − s·B·A, and the model's output at step 0 is unchanged.
/// - PiSSA (PEFT's pissa_init): W = U S Vᴴ; A = diag(sqrt(S_r / s)) Vᴴ_r, B = U_r diag(sqrt(S_r / s)), so s·B·A = U_r S_r Vᴴ_r.
///   The fast form takes U_r, S_r, V_r from a randomized SVD (Halko et al. 2011; PyTorch's svd_lowrank with q = r).
/// - OLoRA (PEFT's olora_init): W = Q R; B = Q[:, :r], A = R[:r] (no division by s, as PEFT does it).
public static class PrincipalInit
{
    /// A (r, in) and B (out, r) in float32 for `w` (out, in, float32); `generator` draws the randomized SVD's probe.
    public static (Tensor A, Tensor B) Factors(Tensor w, int r, double scaling, LoraInit init, int iterations, torch.Generator generator)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Tensor a, b;
        if (init == LoraInit.Olora)
        {
            var (q, rr) = linalg.qr(w);
            b = q.narrow(1, 0, r);
            a = rr.narrow(0, 0, r);
        }
        else
        {
            var (u, s, vh) = init == LoraInit.PissaFast ? RandomizedSvd(w, r, iterations, generator) : linalg.svd(w, fullMatrices: false);
            var root = s.narrow(0, 0, r).div(scaling).sqrt_();
            a = vh.narrow(0, 0, r).mul(root.unsqueeze(1));
            b = u.narrow(1, 0, r).mul(root.unsqueeze(0));
        }
        return (a.contiguous().MoveToOuterDisposeScope(), b.contiguous().MoveToOuterDisposeScope());
    }

    /// The top-`r` singular triplets of `w` from a random r-column probe and `iterations` power iterations, each
    /// re-orthonormalised (a QR after every product keeps the small singular directions from drowning in rounding).
    static (Tensor U, Tensor S, Tensor Vh) RandomizedSvd(Tensor w, int r, int iterations, torch.Generator generator)
    {
        var probe = randn(new[] { w.shape[1], (long)r }, dtype: w.dtype, generator: generator).to(w.device);
        var q = linalg.qr(w.matmul(probe)).Q;
        for (int i = 0; i < iterations; i++)
        {
            var z = linalg.qr(w.t().matmul(q)).Q;
            q = linalg.qr(w.matmul(z)).Q;
        }
        var (ub, s, vh) = linalg.svd(q.t().matmul(w), fullMatrices: false);
        return (q.matmul(ub), s, vh);
    }
}
