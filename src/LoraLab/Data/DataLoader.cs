using LoraLab.Tokenization;

namespace LoraLab.Data;

/// Yields micro-batches in a seeded order: epoch e shuffles the rows with `System.Random(seed + e)` and
/// Fisher–Yates, so a run is reproducible and can resume at (epoch, batch index) with the same batches
/// it would have seen. Rows are examples, or packed rows when packing is on (packed once, in data order).
public sealed class DataLoader
{
    readonly IReadOnlyList<TokenizedExample>? _examples;
    readonly IReadOnlyList<PackedRow>? _rows;
    readonly Batcher _batcher;

    public int MicroBatchSize { get; }
    public int Seed { get; }
    public bool Shuffle { get; }

    /// <param name="packLength">When set, examples are packed into rows of at most this many tokens.</param>
    public DataLoader(IReadOnlyList<TokenizedExample> examples, Batcher batcher, int microBatchSize, int seed,
                      bool shuffle = true, int? packLength = null)
    {
        if (examples.Count == 0) throw new UserException("no examples to train on");
        if (microBatchSize < 1) throw new UserException($"micro-batch size must be at least 1, got {microBatchSize}");
        _batcher = batcher;
        MicroBatchSize = microBatchSize;
        Seed = seed;
        Shuffle = shuffle;
        if (packLength is int len) _rows = Packer.Pack(examples, len);
        else _examples = examples;
    }

    public DataLoader(IReadOnlyList<TokenizedExample> examples, ITokenizer tokenizer, int microBatchSize, int seed,
                      bool shuffle = true, int? packLength = null)
        : this(examples, Batcher.For(tokenizer), microBatchSize, seed, shuffle, packLength) { }

    /// Rows per epoch (examples, or packed rows).
    public int RowCount => _rows?.Count ?? _examples!.Count;

    /// Micro-batches per epoch; the last one may be smaller.
    public int BatchesPerEpoch => (RowCount + MicroBatchSize - 1) / MicroBatchSize;

    /// The row order of an epoch.
    public int[] Order(int epoch) =>
        Shuffle ? SeededShuffle.Permutation(RowCount, unchecked(Seed + epoch)) : Enumerable.Range(0, RowCount).ToArray();

    /// The batches of one epoch from <paramref name="startBatch"/> on. Each batch is the caller's to dispose.
    public IEnumerable<Batch> Epoch(int epoch, int startBatch = 0) => EpochRows(epoch, startBatch).Select(Collate);

    /// The epoch's micro-batches from <paramref name="startBatch"/> on as rank <paramref name="rank"/> of
    /// <paramref name="ranks"/> trains them: its consecutive share of each micro-batch's rows (shares differ by at most
    /// one row), collated alone, with the whole micro-batch's counts. Each share is the caller's to dispose.
    public IEnumerable<RankShare> EpochShare(int epoch, int startBatch, int rank, int ranks)
    {
        foreach (var picked in EpochRows(epoch, startBatch))
        {
            var (from, length) = Training.StreamSlices.RowRange(picked.Length, rank, ranks);
            var mine = picked[(int)from..(int)(from + length)];
            var (targets, tokens) = _rows is not null
                ? Batcher.Count(picked.Select(i => (_rows[i].InputIds, _rows[i].Labels)))
                : Batcher.Count(picked.Select(i => (_examples![i].InputIds, _examples[i].Labels)));
            yield return new RankShare(mine.Length == 0 ? null : Collate(mine), targets, tokens);
        }
    }

    /// The row indices of each micro-batch of an epoch from `startBatch` on.
    IEnumerable<int[]> EpochRows(int epoch, int startBatch)
    {
        if (startBatch < 0 || startBatch > BatchesPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(startBatch), $"epoch has {BatchesPerEpoch} batches, asked to start at {startBatch}");
        var order = Order(epoch);
        for (int b = startBatch; b < BatchesPerEpoch; b++)
            yield return order.Skip(b * MicroBatchSize).Take(MicroBatchSize).ToArray();
    }

    /// Row indices of batch <paramref name="index"/> of an epoch, for logging and checks.
    public int[] BatchRows(int epoch, int index) => Order(epoch).Skip(index * MicroBatchSize).Take(MicroBatchSize).ToArray();

    Batch Collate(int[] picked) => _rows is not null
        ? _batcher.Collate(picked.Select(i => _rows[i]).ToList())
        : _batcher.Collate(picked.Select(i => _examples![i]).ToList());
}
