using System.Collections.Concurrent;
using static TorchSharp.torch;

namespace LoraLab.Adapters.Quantization;

/// A table of quantization levels (index = stored code) with nearest-level encoding. Encoding searches the
/// midpoints between sorted distinct levels (bucketize), which picks the same level as bitsandbytes'
/// argmin |x - code| without its (n, levels) temporary; equal levels (FP4's +0 and -0) encode as the lowest code.
public sealed class CodeBook
{
    public IReadOnlyList<float> Values { get; }
    readonly float[] _midpoints;
    readonly long[] _sortedCode;   // distinct levels in ascending order -> their (lowest) code
    readonly bool _identity;       // levels already ascending and distinct: the bucket is the code
    readonly ConcurrentDictionary<string, (Tensor Table, Tensor Midpoints, Tensor SortedCode)> _onDevice = new();

    public CodeBook(float[] values)
    {
        Values = values;
        var distinct = Enumerable.Range(0, values.Length)
            .GroupBy(i => values[i]).Select(g => (Value: g.Key, Code: (long)g.Min()))
            .OrderBy(p => p.Value).ToArray();
        _sortedCode = distinct.Select(p => p.Code).ToArray();
        _midpoints = Enumerable.Range(0, distinct.Length - 1)
            .Select(i => (distinct[i].Value + distinct[i + 1].Value) / 2f).ToArray();
        _identity = _sortedCode.Length == values.Length && _sortedCode.Select((c, i) => c == i).All(b => b);
    }

    /// The levels as a float32 tensor on `device` (cached per device; lives as long as the process).
    public Tensor Table(Device device) => OnDevice(device).Table;

    readonly ConcurrentDictionary<string, Tensor> _pairsOnDevice = new();

    /// (256, 2): the two levels each byte of packed 4-bit codes holds, in NibblePacking's order (high nibble first). One
    /// lookup per byte dequantizes both codes, without unpacking the nibbles first.
    public Tensor PairTable(Device device) => _pairsOnDevice.GetOrAdd(device.ToString(), _ =>
    {
        var pairs = new float[512];
        for (int b = 0; b < 256; b++)
        {
            pairs[2 * b] = b >> 4 < Values.Count ? Values[b >> 4] : 0;
            pairs[2 * b + 1] = (b & 0x0F) < Values.Count ? Values[b & 0x0F] : 0;
        }
        return tensor(pairs, dtype: ScalarType.Float32, device: device).view(256, 2).DetachFromDisposeScope();
    });

    /// Codes (uint8, same shape) of the levels nearest to each value of `scaled`.
    public Tensor Encode(Tensor scaled)
    {
        var (_, mid, sortedCode) = OnDevice(scaled.device);
        using var bucket = bucketize(scaled, mid, outInt32: false, right: false);
        if (_identity) return bucket.to(ScalarType.Byte);
        using var flat = bucket.view(-1);
        using var codes = sortedCode.index_select(0, flat);
        return codes.view(scaled.shape).to(ScalarType.Byte);
    }

    (Tensor Table, Tensor Midpoints, Tensor SortedCode) OnDevice(Device device) =>
        _onDevice.GetOrAdd(device.ToString(), _ =>
        (
            tensor(Values.ToArray(), dtype: ScalarType.Float32, device: device).DetachFromDisposeScope(),
            tensor(_midpoints, dtype: ScalarType.Float32, device: device).DetachFromDisposeScope(),
            tensor(_sortedCode, dtype: ScalarType.Int64, device: device).DetachFromDisposeScope()
        ));
}
