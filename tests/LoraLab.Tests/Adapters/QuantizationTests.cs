using LoraLab.Adapters.Quantization;
using LoraLab.ModelFiles;
using LoraLab.Models;
using LoraLab.Training;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

public class QuantizationTests
{
    readonly ITestOutputHelper _out;
    public QuantizationTests(ITestOutputHelper output) { _out = output; Runtime.TorchRuntime.EnsureLoaded(); }

    static Tensor Normal(long rows, long cols, ulong seed) =>
        randn(new[] { rows, cols }, dtype: ScalarType.Float32, generator: new Generator(seed));

    static double RelRmse(Tensor reference, Tensor approx)
    {
        using var scope = NewDisposeScope();
        var r = reference.to(ScalarType.Float64);
        return r.sub(approx.to(ScalarType.Float64)).norm().item<double>() / r.norm().item<double>();
    }

    static double RoundTripError(Tensor w, QuantScheme scheme)
    {
        var (q, holder) = Quantizers.Quantize(w, scheme);
        using (holder)
        using (var back = q.Dequantize(ScalarType.Float32))
            return RelRmse(w, back);
    }

    [Fact]
    public void Nf4RoundTripOnNormalWeightsBeatsFp4()
    {
        using var w = Normal(512, 1024, 1);
        double nf4 = RoundTripError(w, QuantScheme.Nf4), fp4 = RoundTripError(w, QuantScheme.Fp4);
        _out.WriteLine($"relative RMSE on N(0,1) 512x1024: nf4 {nf4:F5}, fp4 {fp4:F5}");
        Assert.True(nf4 < fp4, $"nf4 {nf4} should beat fp4 {fp4}");
        Assert.InRange(nf4, 0.01, 0.12);
    }

    [Fact]
    public void Int8RoundTripErrorIsSmall()
    {
        using var w = Normal(256, 1024, 2);
        double err = RoundTripError(w, QuantScheme.Int8);
        _out.WriteLine($"int8 relative RMSE on N(0,1) 256x1024: {err:F5}");
        Assert.InRange(err, 1e-4, 0.01);
    }

    [Fact]
    public void StoredSizeIsAbout4127BitsPerWeightAndMatchesQuantizedSize()
    {
        using var w = Normal(4096, 4096, 3);
        foreach (var scheme in new[] { QuantScheme.Nf4, QuantScheme.Fp4, QuantScheme.Int8 })
        {
            var (q, holder) = Quantizers.Quantize(w, scheme);
            using (holder)
            {
                long buffers = holder.named_buffers().Sum(b => b.Item2.numel() * b.Item2.ElementSize);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                q.Dequantize(ScalarType.Float32).Dispose();
                _out.WriteLine($"{scheme} 4096x4096: {q.StorageBytes} bytes ({q.StorageBytes * 8.0 / (4096.0 * 4096):F4} bits/weight), dequantize {clock.ElapsedMilliseconds} ms");
                Assert.Equal(buffers, q.StorageBytes);
                Assert.Equal(QuantizedSize.Bytes(4096, 4096, scheme.Name()), q.StorageBytes);
                if (scheme != QuantScheme.Int8)
                    Assert.InRange(q.StorageBytes, 0.99 * 4096 * 4096 * 4.127 / 8, 1.01 * 4096 * 4096 * 4.127 / 8);
            }
        }
    }

    [Theory]
    [InlineData(3, 37, "nf4")]
    [InlineData(5, 64, "fp4")]
    [InlineData(7, 129, "int8")]
    [InlineData(300, 300, "nf4")]
    [InlineData(1, 5, "fp4")]
    public void QuantizedSizeMatchesBuffersForOddShapes(long rows, long cols, string scheme)
    {
        using var w = Normal(rows, cols, 4);
        var (q, holder) = Quantizers.Quantize(w, QuantSchemes.Parse(scheme));
        using (holder)
        using (var back = q.Dequantize(ScalarType.Float32))
        {
            Assert.Equal(QuantizedSize.Bytes(rows, cols, scheme), q.StorageBytes);
            Assert.Equal(new[] { rows, cols }, back.shape);
            Assert.True(RelRmse(w, back) < 0.2);
        }
    }

    /// Every block holds each level once per 16 values times the same absmax, so even the double-quantized
    /// absmax (all equal: centred to zero) comes back exactly: the result is code value × absmax, bit for bit.
    [Theory]
    [InlineData("nf4", 1, 64)]
    [InlineData("fp4", 1, 64)]
    [InlineData("nf4", 3, 37)]   // 111 values: a full block and a zero-padded partial one
    [InlineData("nf4", 1, 5)]    // odd count: the last byte's low nibble codes the zero padding
    public void HandMadeBlocksDequantizeToCodeValuesTimesAbsmax(string name, long rows, long cols)
    {
        var scheme = QuantSchemes.Parse(name);
        var levels = CodeTables.For(scheme).Values;
        const float absmax = 2.5f;
        var values = Enumerable.Range(0, (int)(rows * cols)).Select(i => levels[i % 16] * absmax).ToArray();
        using var w = tensor(values).view(rows, cols);
        var q = FourBitWeight.Quantize(w, scheme);
        using (q)
        using (var back = q.Dequantize(ScalarType.Float32))
        using (var codes = NibblePacking.Unpack(q.get_buffer("weight_packed")!))
        {
            Assert.Equal(values, back.data<float>().ToArray());
            var stored = codes.data<byte>().ToArray();
            for (int i = 0; i < values.Length; i++)
                Assert.Equal(levels[stored[i]], levels[i % 16]);   // FP4's -0 is stored as +0 (code 0)
            if (scheme == QuantScheme.Nf4)
                Assert.Equal(Enumerable.Range(0, values.Length).Select(i => (byte)(i % 16)), stored.Take(values.Length));
            Assert.Equal((values.Length + 1) / 2, q.get_buffer("weight_packed")!.numel());
            if (values.Length % 2 == 1) Assert.Equal(0f, levels[stored[^1]]);
        }
    }

    [Fact]
    public void CodeTablesAreBitsandbytes()
    {
        Assert.Equal(-0.6961928009986877f, CodeTables.Nf4.Values[1]);
        Assert.Equal(0.7229568362236023f, CodeTables.Nf4.Values[14]);
        Assert.Equal(new[] { 0f, 0.0625f / 12, 8f / 12, 1f, 4f / 12, 0.5f, 2f / 12, 0.25f }, CodeTables.Fp4.Values.Take(8));
        var dyn = CodeTables.Dynamic8.Values;
        Assert.Equal(256, dyn.Distinct().Count());
        Assert.True(dyn.Zip(dyn.Skip(1)).All(p => p.First < p.Second));
        Assert.Equal(0f, dyn[127]);                 // 127 negative levels, zero, 127 positive, then 1
        Assert.Equal(1f, dyn[255]);
        Assert.Equal(-0.99296875f, dyn[0], 6);      // largest midpoint of linspace(0.1, 1, 65)
        Assert.Equal(5.5e-7f, dyn[128], 12);        // 10^-6 × midpoint of linspace(0.1, 1, 2)
    }

    [Fact]
    public void NibblesPackFirstElementHigh()
    {
        using var codes = tensor(new byte[] { 1, 2, 3, 4, 15, 0 });
        using var packed = NibblePacking.Pack(codes);
        Assert.Equal(new byte[] { 0x12, 0x34, 0xF0 }, packed.data<byte>().ToArray());
        using var back = NibblePacking.Unpack(packed);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 15, 0 }, back.data<byte>().ToArray());
    }

    [Fact]
    public void QuantizedSizeIsBitsandbytesStorage()
    {
        Assert.Equal(8_388_608L + 262_144 + 4 * 1_024 + 4, QuantizedSize.Bytes(4096, 4096, "nf4"));
        Assert.Equal(3L + 1 + 4 + 4, QuantizedSize.Bytes(1, 5, "nf4"));   // no padding stored
        Assert.Equal(4096L * 11008 + 4 * 11008, QuantizedSize.Bytes(11008, 4096, "int8"));
        Assert.Equal(2L * 10 * 3, QuantizedSize.Bytes(10, 3, "bf16"));
        Assert.Throws<UserException>(() => QuantizedSize.Bytes(1, 1, "int4"));
    }

    [Fact]
    public void UnknownSchemeIsAUserError() =>
        Assert.Contains("nf4", Assert.Throws<UserException>(() => Quantizers.For("q3")).Message);

    /// The custom autograd function (dequantize again in backward) against plain autograd through the
    /// dequantized weight, with a LoRA-like trainable branch downstream.
    [Theory]
    [InlineData("nf4")]
    [InlineData("int8")]
    public void CustomBackwardMatchesPlainAutograd(string scheme)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(5);
        var (q, holder) = Quantizers.Quantize(randn(new long[] { 96, 128 }, generator: gen).mul_(0.05), QuantSchemes.Parse(scheme));
        using var _ = holder;
        var x0 = randn(new long[] { 3, 7, 128 }, generator: gen);
        var a0 = randn(new long[] { 4, 128 }, generator: gen).mul_(0.1);
        var b0 = randn(new long[] { 96, 4 }, generator: gen).mul_(0.1);
        var r = randn(new long[] { 3, 7, 96 }, generator: gen);

        (Tensor Y, Tensor Gx, Tensor Ga, Tensor Gb) Run(Func<Tensor, Tensor> baseLinear)
        {
            var x = x0.clone().requires_grad_();
            var a = a0.clone().requires_grad_();
            var b = b0.clone().requires_grad_();
            var y = baseLinear(x).add(nn.functional.linear(nn.functional.linear(x, a), b));
            y.mul(r).sum().backward();
            return (y.detach(), x.grad!, a.grad!, b.grad!);
        }

        var custom = Run(x => q.Linear(x));
        var dense = q.Dequantize(ScalarType.Float32);
        var plain = Run(x => nn.functional.linear(x, dense));
        foreach (var (c, p, what) in new[] { (custom.Y, plain.Y, "y"), (custom.Gx, plain.Gx, "grad x"), (custom.Ga, plain.Ga, "grad A"), (custom.Gb, plain.Gb, "grad B") })
        {
            double diff = c.sub(p).abs().max().item<float>();
            _out.WriteLine($"{scheme} {what}: max |custom - plain| = {diff:E2}");
            Assert.True(diff <= 1e-6, $"{what}: {diff}");
        }
        using (no_grad())
        using (var y = q.Linear(x0))
        using (var expected = nn.functional.linear(x0, dense))
            Assert.True(y.allclose(expected, rtol: 0, atol: 1e-6), "no-grad path differs from linear on the dequantized weight");
    }

    /// Counts dequantizations, to show the backward pass rebuilds W instead of keeping the forward's copy.
    sealed class CountingWeight : IBaseWeight
    {
        readonly IBaseWeight _inner;
        public int Dequantizations;
        public CountingWeight(IBaseWeight inner) => _inner = inner;
        public Tensor Linear(Tensor x) => DequantizingLinear.Apply(x, this);
        public Tensor Dequantize(ScalarType dtype) { Dequantizations++; return _inner.Dequantize(dtype); }
        public long StorageBytes => _inner.StorageBytes;
    }

    [Fact]
    public void BackwardDequantizesAgainInsteadOfSavingTheDenseWeight()
    {
        using var scope = NewDisposeScope();
        var (q, holder) = Quantizers.Quantize(randn(32, 64), QuantScheme.Nf4);
        using var _ = holder;
        var w = new CountingWeight(q);
        var x = randn(2, 5, 64).requires_grad_();
        var y = w.Linear(x);
        Assert.Equal(1, w.Dequantizations);
        Assert.True(y.requires_grad);
        y.sum().backward();
        Assert.Equal(2, w.Dequantizations);
        Assert.Equal(new long[] { 2, 5, 64 }, x.grad!.shape);
        using (no_grad()) w.Linear(x);
        Assert.Equal(3, w.Dequantizations);
    }

    [Fact]
    public void DequantizeReturnsTheRequestedDtype()
    {
        using var w = Normal(32, 64, 6);
        var (q, holder) = Quantizers.Quantize(w, QuantScheme.Nf4);
        using (holder)
        using (var bf = q.Dequantize(ScalarType.BFloat16))
        using (var f = q.Dequantize(ScalarType.Float32))
        using (var fb = f.to(ScalarType.BFloat16))
        using (var bf32 = bf.to(ScalarType.Float32))
        using (var fb32 = fb.to(ScalarType.Float32))
        {
            Assert.Equal(ScalarType.BFloat16, bf.dtype);
            Assert.Equal(fb32.data<float>().ToArray(), bf32.data<float>().ToArray());
        }
    }

    static (double Loss, LoadedModel Model) TinyLoss(LoadOptions options)
    {
        var dir = LoraTestModels.TinyDir;
        var golden = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "golden.json"))).RootElement;
        var rows = golden.GetProperty("input_ids").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetInt64()).ToArray()).ToArray();
        using var ids = tensor(rows.SelectMany(r => r).ToArray(), dtype: ScalarType.Int64).view(rows.Length, rows[0].Length);
        var m = ModelLoader.Load(dir, options);
        using var _ = no_grad();
        using var logits = m.Model.Forward(ids);
        using var loss = Losses.NextTokenMean(logits, ids);
        return (loss.item<float>(), m);
    }

    [Fact]
    public void TinyLlamaWithNf4BaseKeepsItsLossAndHoldsNoDenseProjectionWeights()
    {
        var (fp32, dense) = TinyLoss(new LoadOptions { LoadTokenizer = false });
        dense.Dispose();
        foreach (bool lmHead in new[] { false, true })
        {
            var (nf4, m) = TinyLoss(new LoadOptions { LoadTokenizer = false, QuantizerFor = Quantizers.For("nf4", includeLmHead: lmHead) });
            using (m)
            {
                _out.WriteLine($"tiny-llama loss: fp32 {fp32:F5}, nf4 (lm_head {(lmHead ? "nf4" : "dense")}) {nf4:F5}, relative difference {Math.Abs(nf4 - fp32) / fp32:P2}");
                Assert.True(Math.Abs(nf4 - fp32) / fp32 < 0.05, $"nf4 loss {nf4} vs fp32 {fp32}");
                foreach (var (path, _, _, proj) in m.Model.Projections())
                {
                    bool quantized = lmHead || path != "lm_head";
                    Assert.Equal(quantized, proj.Weight is null);
                    Assert.Equal(quantized, proj.Quantized is FourBitWeight);
                    if (quantized)
                        Assert.Equal(QuantizedSize.Bytes(proj.OutFeatures, proj.InFeatures, "nf4"), proj.Quantized!.StorageBytes);
                }
                var names = m.Model.named_parameters().Select(p => p.name).ToList();
                Assert.DoesNotContain(names, n => n.EndsWith("_proj.weight"));
                Assert.Equal(!lmHead, names.Contains("lm_head.weight"));
                Assert.Contains(m.Model.named_buffers(), b => b.name == "model.layers.0.self_attn.q_proj.quant.weight_packed");
            }
        }
    }

    [Fact]
    public void AttachedQuantizersPackRandomlyInitialisedWeights()
    {
        var cfg = ModelConfig.Load(RepoFixtures.Path_("tiny-llama", "config.json"));
        using var model = new CausalLM(cfg, ScalarType.Float32, CPU);
        Quantizers.Attach(model, QuantScheme.Int8);
        model.InitializeRandom(seed: 1);
        foreach (var (path, _, _, proj) in model.Projections())
            Assert.Equal(path == "lm_head", proj.Quantized is null);
        using var ids = tensor(new long[] { 1, 5, 9, 3 }).view(1, 4);
        using var logits = model.Forward(ids);
        Assert.Equal(new long[] { 1, 4, cfg.VocabSize }, logits.shape);
        Assert.False(logits.isnan().any().item<bool>());
    }
}
