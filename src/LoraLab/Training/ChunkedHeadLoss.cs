using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Training;

/// Output projection + cross-entropy summed over rows, computed in chunks of rows so the (rows, vocab) logits never
/// exist whole: on a 32k vocabulary they (and their softmax and gradient) are most of a small model's activation
/// memory. The gradients with respect to the hidden states (and the head weight, when it is trained) are computed
/// chunk by chunk during the forward pass, while each chunk's logits are at hand, and kept until backward, which only
/// scales them by the incoming gradient. Same arithmetic as linear → log-softmax → NLL, with no recomputation.
public static class ChunkedHeadLoss
{
    /// Most logit elements per chunk (rows × vocab): 16 Mi floats = 64 MB, about 512 rows of a 32k vocabulary. Each
    /// chunk's products re-pack the whole (vocab, hidden) weight, so short chunks are slow: on `bench --config small`
    /// 131-row chunks (16 MB) gave 345–364 tok/s for LoRA against 381–395 with 510-row ones, and one 1020-row chunk
    /// was no faster.
    public const long ChunkElements = 1L << 24;

    /// Σ over rows of −log softmax(hidden W^T)[target], skipping targets equal to `ignoreIndex`; float32 scalar.
    /// hidden (N, H), weight (V, H), targets (N) int64.
    /// `chunkElements` bounds rows × vocab per chunk.
    public static Tensor Sum(Tensor hidden, Tensor weight, Tensor targets, long ignoreIndex, long chunkElements = ChunkElements)
    {
        bool grads = is_grad_enabled() && (hidden.requires_grad || weight.requires_grad);
        if (!grads) return Forward(hidden, weight, targets, ignoreIndex, chunkElements, null, null);
        using var scope = NewDisposeScope();
        return Function.apply(hidden, weight, targets, ignoreIndex, chunkElements).MoveToOuterDisposeScope();
    }

    /// Each row's −log softmax(hidden W^T)[target] (N, float32), for losses that weigh rows differently (a preference
    /// loss sums them per sequence). Gradients flow to `hidden` only: the head weight must be frozen (LoRA), since its
    /// gradient would depend on the row weights, which are known only in backward.
    public static Tensor PerRow(Tensor hidden, Tensor weight, Tensor targets, long chunkElements = ChunkElements)
    {
        if (weight.requires_grad) throw new InvalidOperationException("ChunkedHeadLoss.PerRow needs a frozen head weight");
        if (!(is_grad_enabled() && hidden.requires_grad))
        {
            var rows = zeros(hidden.shape[0], dtype: ScalarType.Float32, device: hidden.device);
            using var sum = Forward(hidden, weight, targets, -1, chunkElements, null, null, rows);
            return rows;
        }
        using var scope = NewDisposeScope();
        return PerRowFunction.apply(hidden, weight, targets, chunkElements).MoveToOuterDisposeScope();
    }

    /// The loss sum; fills gradX (N, H) and accumulates gradW (V, H) with d(sum)/d(·) when they are given, and each
    /// row's loss into `perRow` (N) when it is given.
    static Tensor Forward(Tensor hidden, Tensor weight, Tensor targets, long ignoreIndex, long chunkElements, Tensor? gradX, Tensor? gradW,
        Tensor? perRow = null)
    {
        using var noGrad = no_grad();
        long n = hidden.shape[0], v = weight.shape[0];
        // Equal chunks: 1020 rows in two chunks of 510 rather than 524 + 496.
        long chunks = Math.Max(1, (n * v + chunkElements - 1) / chunkElements);
        long rows = Math.Max(1, (n + chunks - 1) / chunks);
        var total = zeros(1, dtype: ScalarType.Float32, device: hidden.device);
        // fp32 master weights under half-precision compute (full fine-tuning): the products use a cast copy, and the
        // weight's fp32 gradient is accumulated from the fp32 softmax blocks (Exponentiate).
        using var cast = weight.dtype == hidden.dtype ? null : weight.to(hidden.dtype);
        var w = cast ?? weight;
        // One logits buffer for all chunks, kept for the next call on this thread: mapping a fresh 64 MB block every
        // step cost small LoRA-all 39 800 → 18 700 page faults per step, −120 ms median over 20 interleaved step pairs.
        var buffer = Runtime.KeptBuffers.Logits(rows, v, hidden.dtype, hidden.device);
        for (long r0 = 0; r0 < n; r0 += rows)
        {
            using var scope = NewDisposeScope();
            long m = Math.Min(rows, n - r0);
            var h = hidden.narrow(0, r0, m);
            var t = targets.narrow(0, r0, m);
            var products = buffer.narrow(0, 0, m).addmm_(h, w.t(), beta: 0);
            var valid = t.ne(ignoreIndex);
            var index = t.masked_fill(valid.logical_not(), 0).unsqueeze(1);
            var validF = valid.to(ScalarType.Float32).unsqueeze(1);
            var masterGrad = gradW is not null && gradW.dtype != w.dtype ? new MasterGradient(gradW, h, validF) : null;
            var (picked, sumExp) = Exponentiate(products, index, rows, masterGrad);
            var e = products;
            var rowLoss = sumExp.log().sub_(picked).mul_(validF);
            total.add_(rowLoss.sum());
            perRow?.narrow(0, r0, m).copy_(rowLoss.squeeze(1));
            if (gradX is null && gradW is null) continue;
            // d loss_row / d logits = valid · (e / sumExp − onehot(target)). The row factor valid / sumExp and the
            // onehot are applied to the (rows, hidden) products, not to the (rows, vocab) exponentials, which saves a
            // read-write pass over each 64 MB chunk: valid/sumExp · (E W) − valid · W[target] for the input, and
            // (E − sumExp · onehot)ᵀ (valid/sumExp · h) for the weight.
            var rowScale = validF.div(sumExp).to(w.dtype);
            if (gradX is not null)
            {
                var gx = gradX.narrow(0, r0, m).addmm_(e, w, beta: 0).mul_(rowScale);
                gx.sub_(w.index_select(0, index.squeeze(1)).mul_(validF.to(w.dtype)));
            }
            if (gradW is not null && masterGrad is null)
            {
                e.scatter_add_(1, index, sumExp.neg().to(w.dtype));
                gradW.addmm_(e.t(), h.mul(rowScale));
            }
        }
        return total.squeeze(0);
    }

    /// Rows of fp32 softmax scratch per pass over a half-precision chunk: 128 rows of a 32k vocabulary are 16 MB,
    /// a quarter of the chunk, so bf16 runs keep 48 MB less than with a scratch as long as the chunk.
    const long SoftmaxScratchElements = 1L << 22;

    /// An fp32 weight gradient under half-precision products (fp32 master weights), accumulated block by block from
    /// the fp32 exponentials: a half-precision product would need a cast copy of the (vocab, hidden) gradient to add.
    sealed record MasterGradient(Tensor GradW, Tensor Hidden, Tensor ValidF);

    /// Shifts each row of `products` by its max and exponentiates it in place (one exp pass serves the loss and the
    /// gradient); returns each row's shifted logit at `index` (m, 1) and the row sums of the exponentials (m, 1), both
    /// float32. A half-precision chunk runs its softmax in float32, a block of rows at a time in a kept scratch buffer
    /// (a fresh cast per chunk cost ~120 ms of page faults on a 2-vCPU EPYC), and gets the exponentials back;
    /// with `master`, each block also adds its part of the fp32 weight gradient.
    static (Tensor Picked, Tensor SumExp) Exponentiate(Tensor products, Tensor index, long chunkRows, MasterGradient? master = null)
    {
        if (products.dtype == ScalarType.Float32)
        {
            var shifted = products.sub_(products.amax(new long[] { 1 }, keepdim: true));
            var picked = shifted.gather(1, index);
            return (picked, shifted.exp_().sum(1, keepdim: true));
        }
        long m = products.shape[0], v = products.shape[1];
        long block = Math.Clamp(SoftmaxScratchElements / v, 1, chunkRows);
        var scratch = Runtime.KeptBuffers.Logits(block, v, ScalarType.Float32, products.device);
        var pickedAll = empty(m, 1, dtype: ScalarType.Float32, device: products.device);
        var sumAll = empty(m, 1, dtype: ScalarType.Float32, device: products.device);
        for (long r0 = 0; r0 < m; r0 += block)
        {
            using var scope = NewDisposeScope();
            long k = Math.Min(block, m - r0);
            var rows = products.narrow(0, r0, k);
            var f = scratch.narrow(0, 0, k).copy_(rows);
            f.sub_(f.amax(new long[] { 1 }, keepdim: true));
            pickedAll.narrow(0, r0, k).copy_(f.gather(1, index.narrow(0, r0, k)));
            var sumExp = sumAll.narrow(0, r0, k).copy_(f.exp_().sum(1, keepdim: true));
            rows.copy_(f);
            if (master is null) continue;
            // (E − sumExp · onehot)ᵀ (valid/sumExp · h), as the main loop computes it for a weight of the products' dtype.
            f.scatter_add_(1, index.narrow(0, r0, k), sumExp.neg());
            var scaled = master.Hidden.narrow(0, r0, k).to(ScalarType.Float32).mul_(master.ValidF.narrow(0, r0, k).div(sumExp));
            master.GradW.addmm_(f.t(), scaled);
        }
        return (pickedAll, sumAll);
    }

    /// Per-row losses whose input gradient is computed in the forward pass (as Function's) and scaled row by row in
    /// backward by the incoming gradient.
    sealed class PerRowFunction : autograd.SingleTensorFunction<PerRowFunction>
    {
        public override string Name => "ChunkedHeadLossPerRow";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var hidden = (Tensor)vars[0];
            var gradX = empty_like(hidden);
            var rows = zeros(hidden.shape[0], dtype: ScalarType.Float32, device: hidden.device);
            using var sum = Forward(hidden, (Tensor)vars[1], (Tensor)vars[2], -1, (long)vars[3], gradX, null, rows);
            ctx.save_for_backward(new List<Tensor> { gradX });
            return rows;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var gradX = ctx.get_saved_variables()[0];
            return new List<Tensor> { gradX.mul_(gradOutput.to(gradX.dtype).unsqueeze(1)), null!, null!, null! };
        }
    }

    sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "ChunkedHeadLoss";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var hidden = (Tensor)vars[0];
            var weight = (Tensor)vars[1];
            var gradX = hidden.requires_grad ? empty_like(hidden) : null;
            var gradW = weight.requires_grad ? Runtime.KeptBuffers.ZeroGradient(weight) : null;
            var loss = Forward(hidden, weight, (Tensor)vars[2], (long)vars[3], (long)vars[4], gradX, gradW);
            // A trained head (full fine-tuning) peaks at the end of backward, where every weight's gradient exists, and
            // the logits buffers would sit idle through it: small bf16 1455-1465 → 1415-1428 MB, for mapping them
            // afresh each step (BENCHMARKS.md, "Full fine-tuning with fp32 master weights").
            if (gradW is not null) Runtime.KeptBuffers.ReleaseLogits();
            // Saved variables hold their own reference: the caller's dispose scope frees these handles after apply.
            ctx.save_for_backward(new List<Tensor> { gradX!, gradW!, gradW is null ? null! : weight });
            return loss;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var saved = ctx.get_saved_variables();
            // Each saved gradient is used once: scale it in place rather than allocating a copy. The weight's
            // gradient goes straight into .grad: returned, autograd would copy it (the saved reference makes it
            // shared), one more weight-sized tensor at the moment activations peak.
            if (saved[1] is { } gradW) AccumulateInto(saved[2], gradW.mul_(gradOutput));
            return new List<Tensor> { saved[0]?.mul_(gradOutput)!, null!, null!, null!, null! };
        }

        static void AccumulateInto(Tensor weight, Tensor grad)
        {
            using var _ = no_grad();
            if (weight.grad is { } existing) existing.add_(grad);
            else weight.grad = grad;
        }
    }
}
