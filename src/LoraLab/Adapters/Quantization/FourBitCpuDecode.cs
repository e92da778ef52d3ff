using LoraLab.Distributed;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Adapters.Quantization;

/// A FourBitWeight dequantized on the CPU in one pass, straight into the compute dtype. Per block of 64: its absmax from
/// the 8-bit code (dynamic level · scale, then + mean, in fp32, as the tensor ops compute it), the 16 levels times that
/// absmax in fp32 (bitsandbytes' product), each rounded once to the output dtype; then every code is a lookup in those
/// 16. The tensor-op path (FourBitWeight.DequantizeWithTensorOps: int32 indices, index_select, absmax multiply, cast)
/// makes four full passes and two temporaries, each pass a parallel region that waits for every thread: on a busy
/// 2-core machine a QLoRA step spent longer there than in the base matmuls. Same bits (FourBitCpuDecodeTests).
public static unsafe class FourBitCpuDecode
{
    /// Blocks per work item (4 Mi values, under a millisecond with AVX-512): only a large weight (a 7B model's) splits over libtorch's
    /// thread count. Smaller ones run on the calling thread: a parallel region on a busy machine waits for a descheduled
    /// thread longer than the whole pass takes.
    const long BlocksPerItem = 65536;

    static readonly float[] Dynamic8 = CodeTables.Dynamic8.Values.ToArray();

    /// Whether this path applies: every buffer a contiguous CPU tensor of its stored dtype, output bf16 or fp32.
    public static bool Handles(Tensor packed, Tensor absmaxQ, Tensor absmaxScale, Tensor offset, ScalarType dtype) =>
        dtype is ScalarType.BFloat16 or ScalarType.Float32
        && new[] { packed, absmaxQ, absmaxScale, offset }.All(t => t.device_type == DeviceType.CPU && t.is_contiguous())
        && packed.dtype == ScalarType.Byte && absmaxQ.dtype == ScalarType.Byte
        && absmaxScale.dtype == ScalarType.Float32 && offset.dtype == ScalarType.Float32;

    /// The n values (1-D, `dtype`) of packed codes in blocks of `blockSize` (even), their block absmax double-quantized
    /// in blocks of `absmaxBlockSize`. `simd: false` keeps to the scalar loop that CPUs without AVX-512 run (tests).
    public static Tensor Dequantize(Tensor packed, Tensor absmaxQ, Tensor absmaxScale, Tensor offset, CodeBook book,
        long n, long blockSize, long absmaxBlockSize, ScalarType dtype, bool simd = true)
    {
        long blocks = Blockwise.BlockCount(n, blockSize), items = (blocks + BlocksPerItem - 1) / BlocksPerItem;
        // The loops read raw memory: buffers shorter than the shape needs (a damaged file) must stop here; the pair
        // loops assume whole bytes per block.
        if (blockSize <= 0 || blockSize % 2 != 0 || absmaxBlockSize <= 0)
            throw new InvalidOperationException($"4-bit block sizes must be positive and the values' even: {blockSize}, {absmaxBlockSize}");
        if (packed.numel() < (n + 1) / 2 || absmaxQ.numel() < blocks
            || absmaxScale.numel() < Blockwise.BlockCount(blocks, absmaxBlockSize) || offset.numel() < 1)
            throw new InvalidOperationException($"4-bit buffers too short for {n} values: packed {packed.numel()}, absmax codes {absmaxQ.numel()}, scales {absmaxScale.numel()}, offset {offset.numel()}");
        var output = empty(n, dtype: dtype);
        var levels = new float[16];
        for (int c = 0; c < Math.Min(16, book.Values.Count); c++) levels[c] = book.Values[c];
        var src = new Source((byte*)TensorAddress.Of(packed), (byte*)TensorAddress.Of(absmaxQ),
            (float*)TensorAddress.Of(absmaxScale), *(float*)TensorAddress.Of(offset), n, blockSize, absmaxBlockSize);
        nint dst = TensorAddress.Of(output);
        bool bf16 = dtype == ScalarType.BFloat16;
        void Item(long i)
        {
            long b0 = i * BlocksPerItem, b1 = Math.Min(blocks, b0 + BlocksPerItem);
            if (bf16) DecodeBf16(src, levels, b0, b1, (ushort*)dst, simd);
            else DecodeFloat(src, levels, b0, b1, (float*)dst);
        }
        int threads = Math.Max(1, get_num_threads());
        if (items == 1 || threads == 1) for (long i = 0; i < items; i++) Item(i);
        else Parallel.For(0, items, new ParallelOptions { MaxDegreeOfParallelism = threads }, Item);
        return output;
    }

    readonly struct Source(byte* packed, byte* absmaxQ, float* absmaxScale, float offset, long n, long blockSize, long absmaxBlockSize)
    {
        public readonly byte* Packed = packed;
        public readonly long N = n, BlockSize = blockSize;

        /// Block b's absmax: two fp32 roundings (times the scale, plus the mean), as Blockwise.Dequantize then add.
        public float Absmax(long b)
        {
            float centred = Dynamic8[absmaxQ[b]] * absmaxScale[b / absmaxBlockSize];
            return centred + offset;
        }
    }

    static void DecodeBf16(Source s, float[] levels, long b0, long b1, ushort* output, bool simd)
    {
        simd = simd && Avx512F.IsSupported && s.BlockSize % 32 == 0;
        var levelVector = Vector512.Create(levels);
        ushort* table = stackalloc ushort[16];
        for (long b = b0; b < b1; b++)
        {
            float absmax = s.Absmax(b);
            long start = b * s.BlockSize;
            if (simd && start + s.BlockSize <= s.N && float.IsFinite(absmax))
            {
                DecodeBlockAvx512(s.Packed + start / 2, s.BlockSize / 2, levelVector * absmax, (uint*)(output + start));
                continue;
            }
            for (int c = 0; c < 16; c++) table[c] = RoundToBf16(levels[c] * absmax);
            long e0 = b * s.BlockSize, e1 = Math.Min(s.N, e0 + s.BlockSize);
            byte* codes = s.Packed + e0 / 2;
            if (e1 - e0 == s.BlockSize)
            {
                // Two values per byte written as one 32-bit store: the high nibble's value first (lower address).
                uint* pairs = (uint*)(output + e0);
                for (long j = 0; j < s.BlockSize / 2; j++)
                    pairs[j] = table[codes[j] >> 4] | (uint)table[codes[j] & 0x0F] << 16;
            }
            else
                for (long e = e0; e < e1; e++) output[e] = table[Code(s.Packed, e)];
        }
    }

    /// One whole block with AVX-512: the 16 products rounded to bf16 (the same integer rounding as RoundToBf16, whose
    /// NaN case a finite absmax cannot reach), then per 16 bytes two 16-entry lookups (vpermd) and one 64-byte store.
    static void DecodeBlockAvx512(byte* codes, long bytes, Vector512<float> products, uint* pairs)
    {
        var bits = products.AsUInt32();
        var table = (bits + Vector512.Create(0x7FFFu) + ((bits >> 16) & Vector512<uint>.One)) >> 16;
        for (long j = 0; j < bytes; j += 16)
        {
            var packed = Avx512F.ConvertToVector512UInt32(Vector128.Load(codes + j));
            var high = Avx512F.PermuteVar16x32(table, packed >> 4);
            var low = Avx512F.PermuteVar16x32(table, packed & Vector512.Create(0x0Fu));
            (high | low << 16).Store(pairs + j);
        }
    }

    static void DecodeFloat(Source s, float[] levels, long b0, long b1, float* output)
    {
        float* table = stackalloc float[16];
        for (long b = b0; b < b1; b++)
        {
            float absmax = s.Absmax(b);
            for (int c = 0; c < 16; c++) table[c] = levels[c] * absmax;
            long e0 = b * s.BlockSize, e1 = Math.Min(s.N, e0 + s.BlockSize);
            for (long e = e0; e < e1; e++) output[e] = table[Code(s.Packed, e)];
        }
    }

    /// Code of element e in NibblePacking's order (element 2k in the high nibble).
    static int Code(byte* packed, long e) => (e & 1) == 0 ? packed[e >> 1] >> 4 : packed[e >> 1] & 0x0F;

    /// fp32 to bf16 rounded to nearest, ties to even, as libtorch's cast (c10::BFloat16's round_to_nearest_even).
    public static ushort RoundToBf16(float f)
    {
        if (float.IsNaN(f)) return 0x7FC0;
        uint bits = BitConverter.SingleToUInt32Bits(f);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }
}
