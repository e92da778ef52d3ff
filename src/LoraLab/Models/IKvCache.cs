using static TorchSharp.torch;

namespace LoraLab.Models;

/// Where a forward pass keeps keys and values for later tokens: one sequence (<see cref="KvCache"/>) or a slot of a
/// many-sequence cache (<see cref="SlotKvCache"/>).
public interface IKvCache
{
    /// Positions already cached before this forward (the new tokens start there).
    long Length { get; }
    /// Writes this step's keys/values (B, KV, T, D) for `layer` and returns (B, KV, S, D) keys and values to attend to.
    (Tensor K, Tensor V) Append(int layer, Tensor k, Tensor v);
    /// Called once per forward, after every layer has appended.
    void Advance(long t);
}
