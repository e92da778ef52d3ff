using LoraLab.Adapters.Quantization;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// Dequantizing packed 4-bit codes through the pair table gives, bit for bit, what unpacking the nibbles first gives,
/// for both 4-bit books and a partial last block.
public class PackedDequantizeTests
{
    [Theory]
    [InlineData(true, 4096)]
    [InlineData(false, 4096)]
    [InlineData(true, 1000)] // 15 whole blocks of 64 and a partial one
    public void PairTableEqualsUnpackingFirst(bool nf4, long n)
    {
        var book = nf4 ? CodeTables.Nf4 : CodeTables.Fp4;
        var gen = new TorchSharp.torch.Generator(5);
        using var codes = randint(0, 16, new[] { n }, dtype: ScalarType.Byte, generator: gen);
        using var absmax = rand(new[] { (n + 63) / 64 }, generator: gen).add_(0.1);
        using var packed = NibblePacking.Pack(codes);
        using var unpackedFirst = Blockwise.Dequantize(NibblePacking.Unpack(packed), absmax, 64, book, n);
        using var viaPairs = Blockwise.DequantizePacked(packed, absmax, 64, book, n);
        Assert.Equal(unpackedFirst.shape, viaPairs.shape);
        Assert.True(viaPairs.eq(unpackedFirst).all().item<bool>());
    }
}
