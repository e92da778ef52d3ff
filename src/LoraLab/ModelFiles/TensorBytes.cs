using Microsoft.Win32.SafeHandles;
using static TorchSharp.torch;

namespace LoraLab.ModelFiles;

/// Moves raw bytes between a file and a contiguous CPU tensor's memory without a managed copy.
/// TorchSharp exposes tensor memory as a Span, which is limited to 2 GB, so large tensors go in slices.
internal static class TensorBytes
{
    const long ChunkBytes = 1L << 30;

    /// Fills <paramref name="target"/> (contiguous, CPU) with the bytes at <paramref name="offset"/> in the file.
    public static void ReadInto(string path, SafeFileHandle file, long offset, Tensor target)
    {
        ForEachChunk(target, (span, byteOffset) => SafeTensorsHeader.ReadExactly(path, file, span, offset + byteOffset));
    }

    /// Writes the bytes of <paramref name="source"/> (contiguous, CPU) to the stream.
    public static void WriteFrom(Tensor source, Stream stream)
    {
        ForEachChunk(source, (span, _) => stream.Write(span));
    }

    public delegate void ChunkAction(Span<byte> span, long byteOffset);

    /// The tensor's memory (contiguous, CPU) in slices of at most 1 GB, each a whole number of elements.
    public static void ForEachChunk(Tensor t, ChunkAction action)
    {
        // safetensors is little-endian; raw copies are only right on a little-endian host.
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors I/O needs a little-endian machine");
        long total = t.NumberOfElements * t.ElementSize;
        if (total == 0) return;
        if (total <= ChunkBytes)
        {
            action(t.bytes, 0);
            return;
        }
        long perChunk = ChunkBytes / t.ElementSize;
        using var flat = t.reshape(-1);   // a view: t is contiguous
        for (long start = 0; start < t.NumberOfElements; start += perChunk)
        {
            long count = Math.Min(perChunk, t.NumberOfElements - start);
            using var slice = flat.narrow(0, start, count);
            action(slice.bytes, start * t.ElementSize);
        }
    }
}
