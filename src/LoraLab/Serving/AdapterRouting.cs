using static TorchSharp.torch;

namespace LoraLab.Serving;

/// Which adapter each row of the next forward pass goes through, shared by every <see cref="MultiLoraLayer"/> of a
/// model: set once per forward on the engine thread.
public sealed class AdapterRouting : IDisposable
{
    /// Every row through this adapter (null: through none), when one adapter (or none) serves the whole pass.
    public int? Single { get; private set; }
    /// When sequences differ: sequence b's adapter id, 0 for none, as an int64 (B) tensor; a projection's rows are the
    /// B sequences' tokens in order, the same number per sequence.
    public Tensor? PerRowIds { get; private set; }

    /// Every row through adapter `id`, or through none (null): a one-sequence prefill.
    public void All(int? id)
    {
        Clear();
        Single = id;
    }

    /// Sequence b through adapter `ids[b]` (null: the base alone).
    public void PerRow(IReadOnlyList<int?> ids, Device device)
    {
        Clear();
        if (ids.Distinct().Count() == 1) { Single = ids[0]; return; }
        PerRowIds = tensor(ids.Select(i => (long)(i ?? 0)).ToArray(), dtype: ScalarType.Int64, device: device);
    }

    void Clear()
    {
        PerRowIds?.Dispose();
        PerRowIds = null;
        Single = null;
    }

    public void Dispose() => Clear();
}
