using LoraLab.Diagnostics.Profiling;
using static TorchSharp.torch;

namespace LoraLab.Models;

/// Multi-head attention with grouped-query / multi-query key-value heads and rotary positions.
public sealed class Attention : nn.Module<Tensor, Tensor>
{
    readonly ModelConfig _cfg;
    readonly int _layer;
    readonly bool _windowed;
    public Projection q_proj, k_proj, v_proj, o_proj;

    public Attention(string name, ModelConfig cfg, int layer) : base(name)
    {
        _cfg = cfg;
        _layer = layer;
        _windowed = cfg.WindowOf(layer) is not null;
        long h = cfg.HiddenSize, d = cfg.HeadDim;
        q_proj = new Projection("q_proj", h, cfg.NumAttentionHeads * d, cfg.AttentionBias);
        k_proj = new Projection("k_proj", h, cfg.NumKeyValueHeads * d, cfg.AttentionBias);
        v_proj = new Projection("v_proj", h, cfg.NumKeyValueHeads * d, cfg.AttentionBias);
        o_proj = new Projection("o_proj", cfg.NumAttentionHeads * d, h, false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("use Forward(x, context)");

    public Tensor Forward(Tensor x, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        if (_windowed && ctx.Windowed is { } windowed) ctx = windowed;
        long b = x.shape[0], t = x.shape[1], hq = _cfg.NumAttentionHeads, hkv = _cfg.NumKeyValueHeads, d = _cfg.HeadDim;
        var q = q_proj.forward(x).view(b, t, hq, d).transpose(1, 2);
        var k = k_proj.forward(x).view(b, t, hkv, d).transpose(1, 2);
        var v = v_proj.forward(x).view(b, t, hkv, d).transpose(1, 2);
        q = OpProfile.Out(ProfiledOp.Rotary, RotaryEmbedding.Apply(OpProfile.In(ProfiledOp.Rotary, q), ctx.Cos, ctx.Sin));
        k = OpProfile.Out(ProfiledOp.Rotary, RotaryEmbedding.Apply(OpProfile.In(ProfiledOp.Rotary, k), ctx.Cos, ctx.Sin));
        if (ctx.Cache != null) (k, v) = ctx.Cache.Append(_layer, k, v);
        long s = k.shape[2];

        Tensor o;
        q = OpProfile.In(ProfiledOp.Attention, q);
        if (hkv == hq)
        {
            o = nn.functional.scaled_dot_product_attention(q, k, v, ctx.Mask, 0.0, ctx.IsCausal);
        }
        else
        {
            // Grouped-query attention without copying key/value heads: the g query heads that share one key/value
            // head become g·T query rows of that head, (B, KV, g·T, D), so SDPA gets 4-D inputs with equal head
            // counts and libtorch's fused CPU kernel (5-D broadcast views take the unfused math path, several times
            // slower: BENCHMARKS.md, "Figures from code comments"). Row j·T + i is position i, so the mask repeats g times.
            long g = hq / hkv;
            var qf = q.reshape(b, hkv, g * t, d);
            o = ctx.GroupedMask is null
                ? nn.functional.scaled_dot_product_attention(qf, k, v, null, 0.0, false)
                : nn.functional.scaled_dot_product_attention(qf, k, v, ctx.GroupedMask, 0.0, false);
            o = o.view(b, hq, t, d);
        }
        o = OpProfile.Out(ProfiledOp.Attention, o);
        var merged = o.transpose(1, 2).reshape(b, t, hq * d);
        return o_proj.forward(merged).MoveToOuterDisposeScope();
    }
}

/// What every layer of one forward pass shares: rotary tables, the attention mask, the KV cache.
public sealed class ForwardContext
{
    public required Tensor Cos { get; init; }
    public required Tensor Sin { get; init; }
    /// Boolean mask (B, 1, T, S), true = may attend; null with IsCausal for the plain causal case.
    public Tensor? Mask { get; init; }
    public bool IsCausal { get; init; }
    /// For grouped-query attention: the mask as an additive float mask over g·T query rows (1 or B, 1, g·T, S), built
    /// once per forward pass; null when every query sees every key.
    public Tensor? GroupedMask { get; init; }
    public IKvCache? Cache { get; init; }
    /// The same positions with the masks of a sliding-window layer (ModelConfig.WindowOf), when the keys reach further
    /// back than the window; null when every layer can use the masks above.
    public ForwardContext? Windowed { get; init; }
}
