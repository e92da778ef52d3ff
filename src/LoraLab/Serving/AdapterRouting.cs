using static TorchSharp.torch;

namespace LoraLab.Serving;

/// Which adapter each row of the next forward pass goes through, shared by every <see cref="MultiLoraLayer"/> of a
/// model: set once per forward on the engine thread. Rows are the flattened (B·T) rows a projection sees.
public sealed class AdapterRouting : IDisposable
{
    readonly List<(int Id, Tensor? Rows)> _groups = new();

    /// Per adapter id used by this forward, the rows it applies to (null: every row).
    public IReadOnlyList<(int Id, Tensor? Rows)> Groups => _groups;

    /// Every row through adapter `id`, or through none (null): a one-sequence prefill.
    public void All(int? id)
    {
        Clear();
        if (id is int i) _groups.Add((i, null));
    }

    /// Row r through adapter `ids[r]` (null: the base alone). Rows of one adapter are gathered, so each adapter runs
    /// two small matmuls per projection on its own rows, however many adapters share the batch.
    public void PerRow(IReadOnlyList<int?> ids, Device device)
    {
        Clear();
        var distinct = ids.OfType<int>().Distinct().ToArray();
        if (distinct.Length == 1 && ids.All(i => i == distinct[0])) { _groups.Add((distinct[0], null)); return; }
        foreach (var id in distinct)
        {
            var rows = Enumerable.Range(0, ids.Count).Where(r => ids[r] == id).Select(r => (long)r).ToArray();
            _groups.Add((id, tensor(rows, dtype: ScalarType.Int64, device: device)));
        }
    }

    void Clear()
    {
        foreach (var (_, rows) in _groups) rows?.Dispose();
        _groups.Clear();
    }

    public void Dispose() => Clear();
}
