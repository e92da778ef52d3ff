using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Win32.SafeHandles;

namespace LoraLab.ModelFiles;

/// Reads and fully validates a safetensors header. Model files are untrusted input: every field is checked
/// before anything is allocated from it, and every failure is a UserException naming the file (and tensor).
internal sealed class SafeTensorsHeader
{
    /// The reference implementation's limit; a larger header is refused before it is read into memory.
    public const long MaxHeaderBytes = 100_000_000;

    public required IReadOnlyList<SafeTensorInfo> Tensors { get; init; }   // in header order
    public required IReadOnlyDictionary<string, string> Metadata { get; init; }
    /// Absolute file offset of the data buffer (8 + header length).
    public required long DataStart { get; init; }

    public static SafeTensorsHeader Read(string path, SafeFileHandle file)
    {
        long fileLength = RandomAccess.GetLength(file);
        if (fileLength < 8)
            throw new UserException($"{path}: not a safetensors file (only {fileLength} bytes; the 8-byte header length is missing)");

        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(path, file, prefix, 0);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > MaxHeaderBytes)
            throw new UserException($"{path}: header length {headerLength} exceeds the 100 MB limit (corrupt or not a safetensors file)");
        if ((long)headerLength > fileLength - 8)
            throw new UserException($"{path}: header length {headerLength} runs past the end of the file ({fileLength} bytes; truncated or not a safetensors file)");

        var headerBytes = new byte[headerLength];
        ReadExactly(path, file, headerBytes, 8);
        long dataStart = 8 + (long)headerLength;
        var (tensors, metadata) = Parse(path, headerBytes, fileLength - dataStart);
        return new SafeTensorsHeader { Tensors = tensors, Metadata = metadata, DataStart = dataStart };
    }

    static (List<SafeTensorInfo>, Dictionary<string, string>) Parse(string path, byte[] header, long dataLength)
    {
        if (!Utf8.IsValid(header))
            throw new UserException($"{path}: header is not valid UTF-8");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new UserException($"{path}: header is not valid JSON ({FirstLine(e.Message)})"); }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new UserException($"{path}: header is not a JSON object (found {doc.RootElement.ValueKind})");

            var tensors = new List<SafeTensorInfo>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            Dictionary<string, string>? metadata = null;
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                // JSON allows repeated keys; a header with two meanings for one name is refused, not resolved.
                if (!seen.Add(prop.Name))
                    throw new UserException($"{path}: header lists '{prop.Name}' twice");
                if (prop.Name == "__metadata__")
                    metadata = ParseMetadata(path, prop.Value);
                else
                    tensors.Add(ParseTensor(path, prop.Name, prop.Value, dataLength));
            }
            CheckNoOverlap(path, tensors);
            return (tensors, metadata ?? new Dictionary<string, string>());
        }
    }

    static Dictionary<string, string> ParseMetadata(string path, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new UserException($"{path}: __metadata__ must be an object of strings (found {value.ValueKind})");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in value.EnumerateObject())
        {
            if (kv.Value.ValueKind != JsonValueKind.String)
                throw new UserException($"{path}: __metadata__ value '{kv.Name}' must be a string (found {kv.Value.ValueKind})");
            if (!result.TryAdd(kv.Name, kv.Value.GetString()!))
                throw new UserException($"{path}: __metadata__ lists '{kv.Name}' twice");
        }
        return result;
    }

    static SafeTensorInfo ParseTensor(string path, string name, JsonElement entry, long dataLength)
    {
        string where = $"{path}: tensor '{name}'";
        if (entry.ValueKind != JsonValueKind.Object)
            throw new UserException($"{where}: entry must be an object with dtype, shape and data_offsets (found {entry.ValueKind})");

        if (!entry.TryGetProperty("dtype", out var dtypeEl))
            throw new UserException($"{where}: missing 'dtype'");
        if (dtypeEl.ValueKind != JsonValueKind.String)
            throw new UserException($"{where}: 'dtype' must be a string (found {dtypeEl.ValueKind})");
        string dtypeName = dtypeEl.GetString()!;
        var dtype = SafeTensorDtypes.Find(dtypeName)
            ?? throw new UserException($"{where}: unknown dtype '{dtypeName}' (known: {SafeTensorDtypes.KnownNames})");

        if (!entry.TryGetProperty("shape", out var shapeEl))
            throw new UserException($"{where}: missing 'shape'");
        if (shapeEl.ValueKind != JsonValueKind.Array)
            throw new UserException($"{where}: 'shape' must be an array of integers (found {shapeEl.ValueKind})");
        var shape = new long[shapeEl.GetArrayLength()];
        int i = 0;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim))
                throw new UserException($"{where}: 'shape' must be an array of integers (element {i} is {d.GetRawText()})");
            if (dim < 0)
                throw new UserException($"{where}: negative dimension {dim} in shape");
            shape[i++] = dim;
        }

        if (!entry.TryGetProperty("data_offsets", out var offEl))
            throw new UserException($"{where}: missing 'data_offsets'");
        if (offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw new UserException($"{where}: 'data_offsets' must be an array of two integers [begin, end]");
        var offs = new long[2];
        for (int k = 0; k < 2; k++)
        {
            var o = offEl[k];
            if (o.ValueKind != JsonValueKind.Number || !o.TryGetInt64(out offs[k]))
                throw new UserException($"{where}: 'data_offsets' must be an array of two integers (element {k} is {o.GetRawText()})");
        }
        long begin = offs[0], end = offs[1];
        if (begin > end)
            throw new UserException($"{where}: data_offsets begin {begin} > end {end}");
        if (begin < 0 || end > dataLength)
            throw new UserException($"{where}: data_offsets [{begin}, {end}] lie outside the data buffer ({dataLength} bytes; truncated file?)");

        long expected;
        try { expected = checked(shape.Aggregate(1L, (a, b) => a * b) * dtype.Size); }
        catch (OverflowException) { throw new UserException($"{where}: shape [{string.Join(", ", shape)}] is too large"); }
        if (expected != end - begin)
            throw new UserException($"{where}: shape [{string.Join(", ", shape)}] of {dtypeName} needs {expected} bytes but data_offsets span {end - begin}");

        return new SafeTensorInfo(name, dtypeName, shape, begin, end);
    }

    /// Two tensors sharing bytes would alias each other's data; the reference writer never produces that.
    static void CheckNoOverlap(string path, List<SafeTensorInfo> tensors)
    {
        var byBegin = tensors.OrderBy(t => t.Begin).ThenBy(t => t.End).ToList();
        for (int i = 1; i < byBegin.Count; i++)
        {
            var prev = byBegin[i - 1];
            var cur = byBegin[i];
            if (cur.Begin < prev.End)
                throw new UserException($"{path}: tensor '{cur.Name}' [{cur.Begin}, {cur.End}] overlaps tensor '{prev.Name}' [{prev.Begin}, {prev.End}]");
        }
    }

    internal static void ReadExactly(string path, SafeFileHandle file, Span<byte> buffer, long offset)
    {
        while (!buffer.IsEmpty)
        {
            int n = RandomAccess.Read(file, buffer, offset);
            if (n == 0)
                throw new UserException($"{path}: file ended early at byte {offset} (truncated or changed while reading)");
            buffer = buffer[n..];
            offset += n;
        }
    }

    static string FirstLine(string s) => s.Split('\n')[0].Trim();
}
