using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Adapters.Quantization;

/// A frozen (out, in) weight in bitsandbytes' 4-bit layout (NF4 or FP4) with double quantization, as QLoRA
/// stores it: the row-major flattened weight in blocks of 64, two codes per byte; the fp32 block absmax values
/// minus their mean, quantized to 8 bits with the dynamic map in blocks of 256. Buffers (registered under the
/// projection as `quant`), sized as bitsandbytes sizes them: `weight_packed` (uint8, ceil(n/2)), `absmax_q`
/// (uint8, one per block), `absmax_scale` (fp32, one per 256 blocks), `absmax_offset` (fp32, the mean).
/// About (4 + 8/64 + 32/(64·256)) bits per weight.
public sealed class FourBitWeight : nn.Module, IBaseWeight
{
    public const long BlockSize = 64;
    public const long AbsmaxBlockSize = 256;

    public QuantScheme Scheme { get; }
    public long Rows { get; }
    public long Cols { get; }
    readonly CodeBook _codes;

    FourBitWeight(QuantScheme scheme, long rows, long cols, Tensor packed, Tensor absmaxQ, Tensor absmaxScale, Tensor offset)
        : base("quant")
    {
        Scheme = scheme;
        Rows = rows;
        Cols = cols;
        _codes = CodeTables.For(scheme);
        register_buffer("weight_packed", packed.DetachFromDisposeScope());
        register_buffer("absmax_q", absmaxQ.DetachFromDisposeScope());
        register_buffer("absmax_scale", absmaxScale.DetachFromDisposeScope());
        register_buffer("absmax_offset", offset.DetachFromDisposeScope());
    }

    /// Quantizes a dense (out, in) weight; the caller keeps ownership of `w` and may free it right after.
    public static FourBitWeight Quantize(Tensor w, QuantScheme scheme)
    {
        if (w.dim() != 2 || w.numel() == 0) throw new ArgumentException($"expected a non-empty 2-D weight, got [{string.Join(", ", w.shape)}]");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long n = w.numel();
        var (codes, absmax) = Blockwise.Quantize(w, BlockSize, CodeTables.For(scheme));
        // An odd count packs one extra code: that of the zero padding, as bitsandbytes pads with 0.0.
        var packed = NibblePacking.Pack(codes.narrow(0, 0, n + (n & 1)));
        // Double quantization: centre the block constants on their mean, then 8-bit them in blocks of 256.
        var offset = absmax.mean().reshape(1);
        var (absmaxCodes, absmaxScale) = Blockwise.Quantize(absmax.sub(offset), AbsmaxBlockSize, CodeTables.Dynamic8);
        var absmaxQ = absmaxCodes.narrow(0, 0, absmax.shape[0]).clone();
        return new FourBitWeight(scheme, w.shape[0], w.shape[1], packed, absmaxQ, absmaxScale, offset);
    }

    long BlockCount => Blockwise.BlockCount(Rows * Cols, BlockSize);

    /// The fp32 block absmax values (BlockCount) recovered from their 8-bit form.
    public Tensor BlockAbsmax()
    {
        using var scope = NewDisposeScope();
        var centred = Blockwise.Dequantize(Buffer("absmax_q"), Buffer("absmax_scale"), AbsmaxBlockSize, CodeTables.Dynamic8, BlockCount);
        return centred.add(Buffer("absmax_offset").to(ScalarType.Float32)).MoveToOuterDisposeScope();
    }

    /// The dense (Rows, Cols) weight in `dtype`: on the CPU in one pass (FourBitCpuDecode), elsewhere by tensor ops;
    /// the same values either way (fp32 level times fp32 absmax, rounded once to `dtype`).
    public Tensor Dequantize(ScalarType dtype) => Dequantize(dtype, simd: true);

    /// As Dequantize; `simd: false` keeps the CPU pass to its scalar loop (what CPUs without AVX-512 run), for tests.
    public Tensor Dequantize(ScalarType dtype, bool simd)
    {
        Tensor packed = Buffer("weight_packed"), absmaxQ = Buffer("absmax_q"), scale = Buffer("absmax_scale"), offset = Buffer("absmax_offset");
        if (!FourBitCpuDecode.Handles(packed, absmaxQ, scale, offset, dtype)) return DequantizeWithTensorOps(dtype);
        using var flat = FourBitCpuDecode.Dequantize(packed, absmaxQ, scale, offset, _codes, Rows * Cols, BlockSize, AbsmaxBlockSize, dtype, simd);
        return flat.view(Rows, Cols);
    }

    /// Dequantize by libtorch ops (any device): the pair-table lookup, the absmax multiply in fp32, then the cast.
    public Tensor DequantizeWithTensorOps(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var w = Blockwise.DequantizePacked(Buffer("weight_packed"), BlockAbsmax(), BlockSize, _codes, Rows * Cols).view(Rows, Cols);
        return (w.dtype == dtype ? w : w.to(dtype)).MoveToOuterDisposeScope();
    }

    public Tensor Linear(Tensor x) => DequantizingLinear.Apply(x, this);

    public long StorageBytes => named_buffers().Sum(b => b.Item2.numel() * b.Item2.ElementSize);

    Tensor Buffer(string name) => get_buffer(name) ?? throw new InvalidOperationException($"{name}: buffer missing");
}
