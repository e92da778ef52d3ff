using static TorchSharp.torch;

namespace LoraLab.Models;

/// Keys and values of many independent sequences, one slot each, (slots, KV, MaxLength, D) per layer, allocated once:
/// a server decodes sequences of different lengths in one batch without reallocating per request. A slot is written
/// by one prefill (positions 0..T−1, the same views a one-sequence <see cref="KvCache"/> gives) and then one token
/// per decode step at the position its sequence has reached.
public sealed class SlotKvCache : IDisposable
{
    readonly Tensor[] _k, _v;
    public int Slots { get; }
    public long MaxLength { get; }

    public SlotKvCache(ModelConfig cfg, int slots, long maxLength, ScalarType dtype, Device device)
    {
        Slots = slots;
        MaxLength = maxLength;
        (_k, _v) = KvCache.Buffers(cfg, slots, maxLength, dtype, device);
    }

    /// Bytes held by the keys and values of every slot.
    public long Bytes => _k.Concat(_v).Sum(t => t.numel() * t.ElementSize);

    /// A view for prefilling B sequences from position 0 in one pass: row i's keys for positions 0..T−1 go to slot
    /// `slots[i]` (int64 (B)). Rows are right-padded to T; a padded position's key is written too, and is overwritten
    /// by the decode step that reaches it (decode steps mask every position past their own).
    public IKvCache Prefill(Tensor slots, long t)
    {
        if (t > MaxLength) throw new InvalidOperationException($"KV cache full ({MaxLength} positions)");
        return new PrefillView(this, slots);
    }

    /// A view for one decode step of B sequences: row i's key goes to position `positions[i]` of slot `slots[i]`
    /// (both int64 (B) tensors on the cache's device), and every row attends to positions 0..span−1 of its slot; the
    /// caller masks positions past its own. `span` is the largest position + 1 (known on the host: no device read).
    public IKvCache Decode(Tensor slots, Tensor positions, long span)
    {
        if (span > MaxLength) throw new InvalidOperationException($"KV cache full ({MaxLength} positions)");
        return new DecodeView(this, slots, positions, span);
    }

    public void Dispose()
    {
        foreach (var t in _k) t.Dispose();
        foreach (var t in _v) t.Dispose();
    }

    sealed class PrefillView(SlotKvCache cache, Tensor slots) : IKvCache
    {
        public long Length => 0;
        public void Advance(long t) { }

        /// The prompt attends to its own keys, so they are returned as given.
        public (Tensor K, Tensor V) Append(int layer, Tensor k, Tensor v)
        {
            Write(cache._k[layer], k);
            Write(cache._v[layer], v);
            return (k, v);
        }

        void Write(Tensor store, Tensor value)
        {
            using var window = store.narrow(2, 0, value.shape[2]);
            window.index_copy_(0, slots, value);
        }
    }

    sealed class DecodeView(SlotKvCache cache, Tensor slots, Tensor positions, long span) : IKvCache
    {
        public long Length => throw new NotSupportedException("a decode step's sequences have lengths of their own");
        public void Advance(long t) { }

        public (Tensor K, Tensor V) Append(int layer, Tensor k, Tensor v) =>
            (Write(cache._k[layer], k), Write(cache._v[layer], v));

        // (B, KV, 1, D) → store[slots[i], :, positions[i], :]; then the rows' slots up to `span`, (B, KV, span, D).
        Tensor Write(Tensor store, Tensor value)
        {
            using (var rows = value.squeeze(2))
                store.index_put_(rows, TensorIndex.Tensor(slots), TensorIndex.Colon, TensorIndex.Tensor(positions));
            using var upTo = store.narrow(2, 0, span);
            return upTo.index_select(0, slots);
        }
    }
}
