using static TorchSharp.torch;

namespace LoraLab.Adapters.Quantization;

/// Blockwise absmax quantization (bitsandbytes' `quantize_blockwise`): a flat tensor is cut into blocks of
/// `blockSize`; each block is multiplied by 1/absmax into [-1, 1] and every value is stored as the code of its
/// nearest level. The last block is zero-padded, which leaves its absmax unchanged; callers keep only the
/// codes they store (bitsandbytes stores no padding).
public static class Blockwise
{
    /// Blocks encoded per pass: bounds the float and index temporaries (16 Mi values, ~200 MB) on huge matrices.
    const long ValuesPerPass = 1L << 24;

    public static long BlockCount(long n, long blockSize) => (n + blockSize - 1) / blockSize;

    /// Codes (uint8, BlockCount·blockSize, padding included) and per-block absmax (float32, BlockCount).
    public static (Tensor Codes, Tensor Absmax) Quantize(Tensor values, long blockSize, CodeBook book)
    {
        using var flat = values.reshape(-1);
        long n = flat.shape[0], blocks = BlockCount(n, blockSize);
        var codes = empty(blocks * blockSize, dtype: ScalarType.Byte, device: values.device);
        var absmax = empty(blocks, dtype: ScalarType.Float32, device: values.device);
        long perPass = Math.Max(1, ValuesPerPass / blockSize);
        for (long b0 = 0; b0 < blocks; b0 += perPass)
        {
            using var scope = NewDisposeScope();
            long count = Math.Min(perPass, blocks - b0);
            var block = Blocks(flat, b0, count, blockSize);
            var max = block.abs().amax(1);
            // 1/absmax as bitsandbytes multiplies by it; an all-zero block encodes zeros instead of NaN.
            var inv = max.reciprocal();
            inv.masked_fill_(inv.isinf(), 0);
            var scaled = block.mul(inv.unsqueeze(1)).clamp_(-1, 1);
            codes.narrow(0, b0 * blockSize, count * blockSize).copy_(book.Encode(scaled).view(-1));
            absmax.narrow(0, b0, count).copy_(max);
        }
        return (codes, absmax);
    }

    /// Values (float32, n) from at least n codes and the per-block absmax: table lookup, then one multiply by
    /// the absmax broadcast over each block (a view, no repeat). A partial last block is zero-padded first.
    public static Tensor Dequantize(Tensor codes, Tensor absmax, long blockSize, CodeBook book, long n)
    {
        using var scope = NewDisposeScope();
        var idx = codes.reshape(-1).to(ScalarType.Int32);
        var levels = book.Table(codes.device).index_select(0, idx);
        return Scale(levels, absmax, blockSize, n).MoveToOuterDisposeScope();
    }

    /// As <see cref="Dequantize"/> from packed 4-bit codes (two per byte, NibblePacking's order): one lookup per byte
    /// in the book's pair table, the same levels in the same order as unpacking first, in two passes fewer.
    public static Tensor DequantizePacked(Tensor packed, Tensor absmax, long blockSize, CodeBook book, long n)
    {
        using var scope = NewDisposeScope();
        var idx = packed.reshape(-1).to(ScalarType.Int32);
        var levels = book.PairTable(packed.device).index_select(0, idx).view(-1);
        return Scale(levels, absmax, blockSize, n).MoveToOuterDisposeScope();
    }

    /// Levels (float32, at least n) times their block's absmax, zero-padded to whole blocks, the first n kept.
    static Tensor Scale(Tensor levels, Tensor absmax, long blockSize, long n)
    {
        using var scope = NewDisposeScope();
        long blocks = BlockCount(n, blockSize);
        long have = levels.shape[0], want = blocks * blockSize;
        if (have > want) levels = levels.narrow(0, 0, want);
        else if (have < want) levels = cat(new[] { levels, zeros(want - have, dtype: levels.dtype, device: levels.device) });
        var scaled = levels.view(blocks, blockSize).mul_(absmax.to(ScalarType.Float32).unsqueeze(1));
        return scaled.view(-1).narrow(0, 0, n).MoveToOuterDisposeScope();
    }

    /// Blocks [b0, b0+count) of `flat` as a (count, blockSize) float32 tensor; zero-pads past the end.
    static Tensor Blocks(Tensor flat, long b0, long count, long blockSize)
    {
        long n = flat.shape[0], start = b0 * blockSize, want = count * blockSize;
        if (start + want <= n) return flat.narrow(0, start, want).to(ScalarType.Float32).view(count, blockSize);
        var padded = zeros(want, dtype: ScalarType.Float32, device: flat.device);
        padded.narrow(0, 0, n - start).copy_(flat.narrow(0, start, n - start));
        return padded.view(count, blockSize);
    }
}
