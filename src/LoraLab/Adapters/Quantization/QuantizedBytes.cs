namespace LoraLab.Adapters.Quantization;

/// Bytes a quantized (rows, cols) weight occupies, equal to the buffers the quantizers allocate.
public static class QuantizedSize
{
    public static long Bytes(long rows, long cols, string scheme) => Bytes(rows, cols, QuantSchemes.Parse(scheme));

    public static long Bytes(long rows, long cols, QuantScheme scheme)
    {
        if (scheme == QuantScheme.Int8) return rows * cols + 4 * rows;   // int8 codes + fp32 scale per row
        long blocks = (rows * cols + FourBitWeight.BlockSize - 1) / FourBitWeight.BlockSize;
        long absmaxBlocks = (blocks + FourBitWeight.AbsmaxBlockSize - 1) / FourBitWeight.AbsmaxBlockSize;
        return blocks * FourBitWeight.BlockSize / 2          // packed codes, last block padded
            + absmaxBlocks * FourBitWeight.AbsmaxBlockSize    // 8-bit absmax, last 256-block padded
            + 4 * absmaxBlocks                                // fp32 scale per 256 absmax values
            + 4;                                              // fp32 mean of the absmax values
    }
}
