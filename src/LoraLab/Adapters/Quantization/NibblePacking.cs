using static TorchSharp.torch;

namespace LoraLab.Adapters.Quantization;

/// Two 4-bit codes per byte in bitsandbytes' order: element 2k in the high nibble, element 2k+1 in the low one.
public static class NibblePacking
{
    /// Packs an even-length uint8 tensor of codes (each < 16) into half as many bytes.
    public static Tensor Pack(Tensor codes)
    {
        if (codes.numel() % 2 != 0) throw new ArgumentException($"packing needs an even number of codes, got {codes.numel()}");
        using var pairs = codes.reshape(-1, 2);
        using var hi = pairs.select(1, 0);
        using var lo = pairs.select(1, 1);
        using var shifted = hi.bitwise_left_shift(4);
        return shifted.bitwise_or(lo);
    }

    /// The codes (uint8, twice as many) of packed bytes.
    public static Tensor Unpack(Tensor packed)
    {
        using var flat = packed.reshape(-1);
        using var hi = flat.bitwise_right_shift(4);
        using var lo = flat.bitwise_and(0x0F);
        using var pairs = stack(new[] { hi, lo }, 1);
        return pairs.view(-1);
    }
}
