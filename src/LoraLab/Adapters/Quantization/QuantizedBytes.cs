namespace LoraLab.Adapters.Quantization;

/// Bytes a (rows, cols) weight occupies under a scheme: for nf4, fp4 and int8 exactly the buffers the
/// quantizers allocate (bitsandbytes' sizes); bf16, fp16 and fp32 are dense.
public static class QuantizedSize
{
    public static readonly string[] Schemes = { "nf4", "fp4", "int8", "bf16", "fp16", "fp32" };

    public static long Bytes(long rows, long cols, string scheme)
    {
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(nameof(rows), $"dimensions must be non-negative, got ({rows}, {cols})");
        long n = rows * cols;
        switch (scheme.Trim().ToLowerInvariant())
        {
            case "nf4":
            case "fp4":
                long blocks = CeilDiv(n, FourBitWeight.BlockSize);
                long absmaxBlocks = CeilDiv(blocks, FourBitWeight.AbsmaxBlockSize);
                return CeilDiv(n, 2)            // two 4-bit codes per byte
                    + blocks                    // 8-bit absmax code per 64-block
                    + 4 * absmaxBlocks          // fp32 scale per 256 absmax values
                    + (n > 0 ? 4 : 0);          // fp32 mean of the absmax values
            case "int8": return n + 4 * rows;   // int8 codes + fp32 scale per row
            case "bf16":
            case "fp16": return 2 * n;
            case "fp32": return 4 * n;
            default: throw new UserException($"quantization '{scheme}': unknown scheme (use {string.Join(", ", Schemes)})");
        }
    }

    public static long Bytes(long rows, long cols, QuantScheme scheme) => Bytes(rows, cols, scheme.Name());

    static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
