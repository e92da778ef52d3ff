using static TorchSharp.torch;

namespace LoraLab.Models;

/// Pre-allocated keys and values per layer for incremental decoding: (B, KV, MaxLength, D) each.
public sealed class KvCache : IKvCache, IDisposable
{
    readonly Tensor[] _k, _v;
    public long Length { get; private set; }
    public long MaxLength { get; }

    public KvCache(ModelConfig cfg, long batch, long maxLength, ScalarType dtype, Device device)
    {
        MaxLength = maxLength;
        (_k, _v) = Buffers(cfg, batch, maxLength, dtype, device);
    }

    /// Zeroed keys and values per layer, (rows, KV, maxLength, D) each. Zeros, not uninitialised memory: a masked
    /// position still enters attention's product with weight 0, and 0 · NaN would be NaN.
    internal static (Tensor[] K, Tensor[] V) Buffers(ModelConfig cfg, long rows, long maxLength, ScalarType dtype, Device device)
    {
        var k = new Tensor[cfg.NumHiddenLayers];
        var v = new Tensor[cfg.NumHiddenLayers];
        for (int i = 0; i < cfg.NumHiddenLayers; i++)
        {
            k[i] = zeros(rows, cfg.NumKeyValueHeads, maxLength, cfg.HeadDim, dtype: dtype, device: device);
            v[i] = zeros(rows, cfg.NumKeyValueHeads, maxLength, cfg.HeadDim, dtype: dtype, device: device);
        }
        return (k, v);
    }

    /// Writes this step's keys/values (B, KV, T, D) for `layer` and returns views over everything cached so far.
    public (Tensor K, Tensor V) Append(int layer, Tensor k, Tensor v)
    {
        long t = k.shape[2];
        if (Length + t > MaxLength) throw new InvalidOperationException($"KV cache full ({MaxLength} positions)");
        using (var dst = _k[layer].narrow(2, Length, t)) dst.copy_(k);
        using (var dst = _v[layer].narrow(2, Length, t)) dst.copy_(v);
        return (_k[layer].narrow(2, 0, Length + t), _v[layer].narrow(2, 0, Length + t));
    }

    /// Called once per forward, after every layer has appended.
    public void Advance(long t) => Length += t;

    public void Dispose()
    {
        foreach (var t in _k) t.Dispose();
        foreach (var t in _v) t.Dispose();
    }
}
