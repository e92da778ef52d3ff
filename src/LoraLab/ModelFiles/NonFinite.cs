using System.Numerics;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace LoraLab.ModelFiles;

/// Weights read from a file must be finite: a NaN or Inf in a base, adapter or checkpoint tensor would otherwise
/// surface far away (NaN logits, a "diverged" loss, an adapter that seems to do nothing).
public static class NonFinite
{
    public static void Check(Tensor t, string file, string tensorName)
    {
        if (!t.is_floating_point()) return;
        // torch.isfinite is (x == x) & (|x| != inf): a full-size abs() copy and bool tensors, several passes; on a
        // 673 MB fp32 model it added ~2 s of CPU to a 3.2 s load. Reading the bits in place costs ~nothing,
        // so isfinite runs only to count what the bits found, or where they cannot be read.
        if (AnyByBits(t) is false) return;
        using var finite = isfinite(t);
        if (finite.all().item<bool>()) return;
        using var bad = finite.logical_not().sum();
        throw new UserException($"{file}: tensor {tensorName} has {bad.item<long>()} NaN/Inf values");
    }

    /// Whether a CPU tensor holds a NaN or ±Inf (all exponent bits set), read in place with no allocation; null
    /// for a tensor this cannot read (another device, a view, another float type).
    static bool? AnyByBits(Tensor t)
    {
        if (t.device_type != TorchSharp.DeviceType.CPU || !t.is_contiguous()) return null;
        var dtype = t.dtype;
        if (dtype is not (ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16)) return null;
        bool any = false;
        TensorBytes.ForEachChunk(t, (bytes, _) => any = any || dtype switch
        {
            ScalarType.Float32 => Any(MemoryMarshal.Cast<byte, uint>(bytes), 0x7F80_0000u),
            ScalarType.Float16 => Any(MemoryMarshal.Cast<byte, ushort>(bytes), (ushort)0x7C00),
            _ => Any(MemoryMarshal.Cast<byte, ushort>(bytes), (ushort)0x7F80),
        });
        return any;
    }

    static bool Any<T>(ReadOnlySpan<T> bits, T exponent) where T : unmanaged, IBinaryInteger<T>
    {
        var mask = new Vector<T>(exponent);
        int i = 0;
        for (; i <= bits.Length - Vector<T>.Count; i += Vector<T>.Count)
            if (Vector.EqualsAny(new Vector<T>(bits[i..]) & mask, mask)) return true;
        for (; i < bits.Length; i++)
            if ((bits[i] & exponent) == exponent) return true;
        return false;
    }
}
