using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using LoraLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.ModelFiles;

/// Writes safetensors files laid out as the reference implementation lays them out: `__metadata__` first, tensors
/// ordered by decreasing dtype alignment then by name, compact JSON padded with spaces to a multiple of 8 bytes
/// (so every tensor's data starts aligned), data packed back to back.
public static class SafeTensorsWriter
{
    static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// Writes atomically: a temporary file in the target's folder, flushed to disk, then renamed over the target,
    /// so a crash never leaves a half-written file under the real name. `__metadata__` is {"format": "pt"} (what
    /// Hugging Face writes) merged with <paramref name="metadata"/>.
    public static void Save(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        TorchRuntime.EnsureLoaded();
        var entries = Plan(tensors);
        var meta = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["format"] = "pt" };
        if (metadata is not null)
            foreach (var (k, v) in metadata) meta[k] = v;
        byte[] header = Header(entries, meta);

        string full = System.IO.Path.GetFullPath(path);
        string dir = System.IO.Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir))
            throw new UserException($"{path}: cannot save, folder '{dir}' does not exist");
        string tmp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                foreach (var e in entries)
                {
                    // One tensor at a time, so at most one extra CPU copy exists while saving.
                    using var detached = e.Tensor.detach();
                    using var cpu = detached.cpu();
                    using var contiguous = cpu.contiguous();
                    TensorBytes.WriteFrom(contiguous, stream);
                }
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    sealed record Entry(string Name, byte[] NameUtf8, Tensor Tensor, SafeTensorDtypes.Entry Dtype, long[] Shape, long Begin, long End);

    static List<Entry> Plan(IEnumerable<(string Name, Tensor Tensor)> tensors)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<(string Name, Tensor Tensor, SafeTensorDtypes.Entry Dtype)>();
        foreach (var (name, tensor) in tensors)
        {
            if (name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved and cannot name a tensor");
            if (!seen.Add(name)) throw new ArgumentException($"tensor name '{name}' appears twice");
            var dtype = SafeTensorDtypes.Find(tensor.dtype)
                ?? throw new ArgumentException($"tensor '{name}': dtype {tensor.dtype} has no safetensors name");
            list.Add((name, tensor, dtype));
        }
        // Reference order: larger alignment first, then name compared as UTF-8 bytes.
        var ordered = list
            .Select(x => (x.Name, Utf8: Encoding.UTF8.GetBytes(x.Name), x.Tensor, x.Dtype))
            .OrderByDescending(x => x.Dtype.Rank)
            .ThenBy(x => x.Utf8, Utf8Order.Instance);
        var entries = new List<Entry>();
        long offset = 0;
        foreach (var x in ordered)
        {
            long bytes = x.Tensor.NumberOfElements * x.Dtype.Size;
            entries.Add(new Entry(x.Name, x.Utf8, x.Tensor, x.Dtype, x.Tensor.shape, offset, offset + bytes));
            offset += bytes;
        }
        return entries;
    }

    static byte[] Header(List<Entry> entries, SortedDictionary<string, string> metadata)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, JsonOptions))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            foreach (var (k, v) in metadata) w.WriteString(k, v);
            w.WriteEndObject();
            foreach (var e in entries)
            {
                w.WriteStartObject(e.NameUtf8);
                w.WriteString("dtype", e.Dtype.Name);
                w.WriteStartArray("shape");
                foreach (var d in e.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(e.Begin);
                w.WriteNumberValue(e.End);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - buffer.Length % 8) % 8);
        for (int i = 0; i < pad; i++) buffer.WriteByte((byte)' ');
        return buffer.ToArray();
    }

    sealed class Utf8Order : IComparer<byte[]>
    {
        public static readonly Utf8Order Instance = new();
        public int Compare(byte[]? a, byte[]? b) => a.AsSpan().SequenceCompareTo(b);
    }
}
