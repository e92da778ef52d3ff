namespace LoraLab.Adapters;

/// Storage of one frozen (rows, cols) weight matrix under a quantization scheme, in bytes. The single formula
/// shared by `loralab params --quantize` and the quantizer, so estimates and real storage cannot drift apart.
public static class QuantizedSize
{
    /// Weights per block that share one absmax scale (bitsandbytes' 4-bit blocksize).
    public const long Block4Bit = 64;
    /// Block absmax values per second-level block in double quantization.
    public const long DoubleQuantBlock = 256;

    public static readonly string[] Schemes = { "nf4", "fp4", "int8", "bf16", "fp16", "fp32" };

    /// Bytes to store a (rows, cols) weight:
    /// - nf4 / fp4 (QLoRA, double-quantized): two 4-bit codes per byte; per 64-weight block one 8-bit code of its
    ///   absmax; per 256 blocks one fp32 absmax-of-absmax; per tensor one fp32 mean (the absmax offset).
    ///   ≈ 4.127 bits per weight.
    /// - int8: one byte per weight plus one fp32 scale per row (absmax row-wise, LLM.int8 style).
    /// - bf16 / fp16 / fp32: dense.
    public static long Bytes(long rows, long cols, string scheme)
    {
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(nameof(rows), "dimensions must be non-negative");
        long n = rows * cols;
        switch (scheme.ToLowerInvariant())
        {
            case "nf4":
            case "fp4":
                long blocks = CeilDiv(n, Block4Bit);
                long groups = CeilDiv(blocks, DoubleQuantBlock);
                return CeilDiv(n, 2) + blocks + 4 * groups + (n > 0 ? 4 : 0);
            case "int8":
                return n + 4 * rows;
            case "bf16":
            case "fp16":
                return 2 * n;
            case "fp32":
                return 4 * n;
            default:
                throw new UserException($"unknown quantization scheme '{scheme}' (use {string.Join(", ", Schemes)})");
        }
    }

    static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
