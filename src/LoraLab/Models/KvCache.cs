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
        _k = new Tensor[cfg.NumHiddenLayers];
        _v = new Tensor[cfg.NumHiddenLayers];
        for (int i = 0; i < cfg.NumHiddenLayers; i++)
        {
            _k[i] = zeros(batch, cfg.NumKeyValueHeads, maxLength, cfg.HeadDim, dtype: dtype, device: device);
            _v[i] = zeros(batch, cfg.NumKeyValueHeads, maxLength, cfg.HeadDim, dtype: dtype, device: device);
        }
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
