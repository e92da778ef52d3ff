using LoraLab.Adapters.Quantization;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// The one-pass CPU dequantization writes, bit for bit, what the tensor ops write (fp32 level times fp32 absmax, then
/// one rounding to the output dtype), for both 4-bit books, an odd count with a partial last block, and a weight large
/// enough to be split over threads; with AVX-512 (where the CPU has it) and with the scalar loop.
public class FourBitCpuDecodeTests
{
    [Theory]
    [InlineData("nf4", 7, 37)]     // 259 values: odd (the packed tail holds a padding code) and a 3-value last block
    [InlineData("fp4", 7, 37)]     // FP4 has a -0 level: the sign bit must survive
    [InlineData("nf4", 64, 96)]
    [InlineData("nf4", 600, 1000)]
    [InlineData("fp4", 600, 1000)]
    [InlineData("nf4", 2100, 2048)] // 67,200 blocks: two work items, run in parallel
    public void OnePassEqualsTensorOpsBitForBit(string scheme, long rows, long cols)
    {
        AssertMatchesTensorOps(scheme, rows, cols, simd: true);
        AssertMatchesTensorOps(scheme, rows, cols, simd: false);
    }

    static void AssertMatchesTensorOps(string scheme, long rows, long cols, bool simd)
    {
        var gen = new Generator(11);
        using var w = randn(new[] { rows, cols }, generator: gen).mul_(0.05);
        using var q = FourBitWeight.Quantize(w, QuantSchemes.Parse(scheme));
        using var bf16 = q.Dequantize(ScalarType.BFloat16, simd);
        using var f32 = q.Dequantize(ScalarType.Float32, simd);
        using var refBf16 = q.DequantizeWithTensorOps(ScalarType.BFloat16);
        using var refF32 = q.DequantizeWithTensorOps(ScalarType.Float32);
        using var refF32ThenCast = refF32.to(ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, bf16.dtype);
        Assert.Equal(new[] { rows, cols }, bf16.shape);
        Assert.Equal(new[] { rows, cols }, f32.shape);
        Assert.True(f32.bytes.SequenceEqual(refF32.bytes), $"fp32 output differs from the tensor ops' (simd {simd})");
        Assert.True(bf16.bytes.SequenceEqual(refBf16.bytes), $"bf16 output differs from the tensor ops' (simd {simd})");
        Assert.True(bf16.bytes.SequenceEqual(refF32ThenCast.bytes), $"bf16 output differs from fp32 dequantize then .to(bf16) (simd {simd})");
    }

    /// The loops read raw memory, so buffers too short for the shape (a damaged file) throw instead of reading past them.
    [Fact]
    public void ShortBuffersThrowInsteadOfReadingPastThem()
    {
        using var packed = zeros(new long[] { 31 }, dtype: ScalarType.Byte); // 64 values need 32 bytes
        using var absmaxQ = zeros(new long[] { 1 }, dtype: ScalarType.Byte);
        using var scale = ones(1);
        using var offset = zeros(1);
        var e = Assert.Throws<InvalidOperationException>(() =>
            FourBitCpuDecode.Dequantize(packed, absmaxQ, scale, offset, CodeTables.Nf4, 64, 64, 256, ScalarType.BFloat16));
        Assert.Contains("packed 31", e.Message);
        using var enough = zeros(new long[] { 32 }, dtype: ScalarType.Byte);
        using var decoded = FourBitCpuDecode.Dequantize(enough, absmaxQ, scale, offset, CodeTables.Nf4, 64, 64, 256, ScalarType.BFloat16);
        Assert.Equal(64, decoded.numel());
        // An odd block would split a byte's two codes across blocks: refused rather than decoded at the wrong parity.
        Assert.Throws<InvalidOperationException>(() =>
            FourBitCpuDecode.Dequantize(enough, absmaxQ, scale, offset, CodeTables.Nf4, 63, 63, 256, ScalarType.BFloat16));
    }

    /// The rounding against libtorch's own fp32 -> bf16 cast: random values of every magnitude, exact ties (low half
    /// 0x8000, odd and even upper half), values that round up into the next binade or to infinity, and the specials.
    [Fact]
    public void RoundToBf16EqualsLibtorchCast()
    {
        var rng = new Random(3);
        var bits = new List<uint>();
        for (int i = 0; i < 20_000; i++) bits.Add((uint)rng.NextInt64(0, 1L << 32));
        for (int i = 0; i < 2_000; i++) bits.Add((uint)rng.Next(0, 1 << 16) << 16 | 0x8000u);
        bits.AddRange(new uint[] { 0x3F7FFFFF, 0x7F7FFFFF, 0x7F7F8000, 0x00008000, 0x00018000, 0x80000000, 0, 0x7F800000, 0xFF800000 });
        var values = bits.Select(BitConverter.UInt32BitsToSingle).Where(f => !float.IsNaN(f)).ToArray();
        using var cast = tensor(values).to(ScalarType.BFloat16);
        var expected = cast.bytes.ToArray();
        for (int i = 0; i < values.Length; i++)
        {
            ushort want = (ushort)(expected[2 * i] | expected[2 * i + 1] << 8);
            Assert.True(want == FourBitCpuDecode.RoundToBf16(values[i]), $"0x{BitConverter.SingleToUInt32Bits(values[i]):X8}: libtorch 0x{want:X4}, ours 0x{FourBitCpuDecode.RoundToBf16(values[i]):X4}");
        }
    }
}
