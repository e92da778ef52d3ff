using LoraLab.Adapters;
using LoraLab.Adapters.Quantization;
using LoraLab.Models;
using LoraLab.Training;
using static TorchSharp.torch;

namespace LoraLab.Diagnostics;

public sealed record CheckResult(string Name, bool Passed, string Detail);

/// The math that batching, merging and quantization must not change, checked on a tiny random model in seconds.
/// Used by `loralab doctor` and by the tests.
public static class SelfChecks
{
    public static ModelConfig TinyConfig => new()
    {
        ModelType = "llama", VocabSize = 97, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2,
        NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDim = 8, RmsNormEps = 1e-5, MaxPositionEmbeddings = 64,
    };

    public static CausalLM TinyModel(long seed = 1)
    {
        var m = new CausalLM(TinyConfig, ScalarType.Float32, CPU);
        m.InitializeRandom(seed, std: 0.2);
        return m;
    }

    public static IReadOnlyList<CheckResult> RunAll() => new[] { Packing(), Accumulation(), MergeExactness(), Nf4RoundTrip() };

    /// Two examples packed into one row (block-diagonal mask, restarted positions) give the same loss sum as unpacked.
    public static CheckResult Packing()
    {
        using var m = TinyModel();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var a = tensor(new long[] { 3, 9, 27, 81, 50 }).unsqueeze(0);
        var b = tensor(new long[] { 7, 14, 21 }).unsqueeze(0);
        var unpacked = Losses.NextTokenSum(m.Forward(a), a).item<float>() + Losses.NextTokenSum(m.Forward(b), b).item<float>();
        var packed = tensor(new long[] { 3, 9, 27, 81, 50, 7, 14, 21 }).unsqueeze(0);
        var labels = packed.clone();
        labels[0, 5] = tensor(Losses.Ignore); // the second document's first token is not predicted from the first
        var pos = tensor(new long[] { 0, 1, 2, 3, 4, 0, 1, 2 }).unsqueeze(0);
        var docs = tensor(new long[] { 0, 0, 0, 0, 0, 1, 1, 1 }).unsqueeze(0);
        var p = Losses.NextTokenSum(m.Forward(packed, pos, docs), labels).item<float>();
        double diff = Math.Abs(p - unpacked) / Math.Max(1, Math.Abs(unpacked));
        return new CheckResult("packing = unpacked", diff < 1e-5, $"relative difference {diff:E2}");
    }

    /// k micro-batches with the loss normalised by all target tokens of the window give the gradient of one big batch.
    public static CheckResult Accumulation()
    {
        using var m = TinyModel();
        foreach (var (_, p) in m.named_parameters()) p.requires_grad = true;
        var rows = new[] { new long[] { 1, 2, 3, 4, 5, 6 }, new long[] { 9, 8, 7, 6, 5, 4 }, new long[] { 11, 13, 17, 19, 23, 29 }, new long[] { 2, 4, 8, 16, 32, 64 } };
        Tensor Batch(IEnumerable<long[]> r) => tensor(r.SelectMany(x => x).ToArray()).view(-1, 6);
        var weight = m.model.layers[0].self_attn.q_proj.Weight!;
        // one batch of 4
        using (var big = Batch(rows)) { using var l = Losses.NextTokenMean(m.Forward(big), big); l.backward(); }
        using var gBig = weight.grad!.clone();
        weight.grad!.zero_();
        foreach (var (_, p) in m.named_parameters()) p.grad?.zero_();
        // two micro-batches of 2, each normalised by the window's 20 targets
        long targets = rows.Length * 5;
        foreach (var pair in rows.Chunk(2))
        {
            using var mb = Batch(pair);
            using var s = Losses.NextTokenSum(m.Forward(mb), mb);
            using var l = s.div(targets);
            l.backward();
        }
        using var diff = weight.grad!.sub(gBig).abs().max();
        using var scale = gBig.abs().max();
        double rel = diff.item<float>() / Math.Max(1e-12, scale.item<float>());
        return new CheckResult("accumulation = large batch", rel < 1e-5, $"max relative gradient difference {rel:E2}");
    }

    /// W + s·B·A merged into the base gives the same logits as the adapter on the side; unmerging restores W.
    public static CheckResult MergeExactness()
    {
        using var m = TinyModel();
        using var _ = no_grad();
        LoraInjector.Apply(m, new LoraConfig { R = 4, Alpha = 8, TargetModules = LoraTargets.Parse("all") }, seed: 3);
        foreach (var a in LoraInjector.Adapters(m)) a.lora_B.weight!.normal_(0, 0.1);
        using var ids = tensor(new long[] { 5, 6, 7, 8, 9, 10, 11 }).unsqueeze(0);
        using var before = m.Forward(ids);
        using var w0 = m.model.layers[0].self_attn.q_proj.Weight!.clone();
        LoraInjector.MergeAll(m);
        using var merged = m.Forward(ids);
        LoraInjector.UnmergeAll(m);
        using var w1 = m.model.layers[0].self_attn.q_proj.Weight!.clone();
        double rel = merged.sub(before).abs().max().item<float>() / Math.Max(1e-12, before.abs().max().item<float>());
        double restore = w1.sub(w0).abs().max().item<float>();
        return new CheckResult("merge = base + adapter", rel < 1e-5 && restore < 1e-6, $"logits rel. diff {rel:E2}, unmerge error {restore:E2}");
    }

    /// NF4 round trip of N(0,1) weights: relative RMSE near the code book's (~0.09), well below FP4's.
    public static CheckResult Nf4RoundTrip()
    {
        using var scope = NewDisposeScope();
        var gen = new TorchSharp.torch.Generator(5);
        var w = randn(new long[] { 256, 512 }, generator: gen);
        double Rmse(QuantScheme s)
        {
            var (q, holder) = Quantizers.Quantize(w, s);
            using (holder)
            using (var d = q.Dequantize(ScalarType.Float32))
                return d.sub(w).pow(2).mean().sqrt().item<float>() / w.pow(2).mean().sqrt().item<float>();
        }
        double nf4 = Rmse(QuantScheme.Nf4), fp4 = Rmse(QuantScheme.Fp4);
        return new CheckResult("NF4 round trip", nf4 < 0.11 && nf4 < fp4, $"relative RMSE NF4 {nf4:F4}, FP4 {fp4:F4}");
    }
}
