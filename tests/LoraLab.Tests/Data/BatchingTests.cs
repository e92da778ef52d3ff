using LoraLab.Data;
using LoraLab.Tests.Fakes;
using Xunit;

namespace LoraLab.Tests.Data;

public class BatchingTests
{
    const int I = LoraLab.Data.Labels.Ignore;

    // Lengths 5, 3, 4, 2, 6; labels mask the first two tokens of each example.
    static readonly TokenizedExample[] Examples = new[] { 5, 3, 4, 2, 6 }
        .Select((n, k) =>
        {
            var ids = Enumerable.Range(0, n).Select(i => 100 + 10 * k + i).ToArray();
            return new TokenizedExample(ids, ids.Select((id, i) => i < 2 ? I : id).ToArray());
        }).ToArray();

    static long[] Row(TorchSharp.torch.Tensor t, int r) => t[r].data<long>().ToArray();

    [Fact]
    public void CollatePadsRightAndCountsShiftedTargets()
    {
        using var batch = new Batcher(padId: 0).Collate([Examples[0], Examples[1]]);
        Assert.Equal(new long[] { 2, 5 }, batch.InputIds.shape);
        Assert.Equal([110, 111, 112, 0, 0], Row(batch.InputIds, 1));
        Assert.Equal([I, I, 112, I, I], Row(batch.Labels, 1));
        Assert.Equal([0, 1, 2, 0, 0], Row(batch.PositionIds, 1));
        Assert.Null(batch.DocumentIds);
        Assert.Null(batch.AttentionMask);
        Assert.Equal(Examples[0].TargetTokens + Examples[1].TargetTokens, batch.TargetTokens);
        Assert.Equal(4, batch.TargetTokens);
        Assert.Equal(8, batch.Tokens);
        Assert.Equal(TorchSharp.torch.ScalarType.Int64, batch.Labels.dtype);
    }

    [Fact]
    public void PadsWithEosWhenTheTokenizerHasNoPad()
    {
        Assert.Equal(CharTokenizer.Eos, Batcher.For(new CharTokenizer(padId: null)).PadId);
        Assert.Equal(CharTokenizer.Pad, Batcher.For(new CharTokenizer()).PadId);
    }

    [Fact]
    public void PackingRestartsPositionsAndMasksEachFirstLabel()
    {
        var rows = Packer.Pack(Examples, maxSeqLength: 9);
        // Greedy in order: [5,3] [4,2] [6]
        Assert.Equal([8, 6, 6], rows.Select(r => r.Length));
        var first = rows[0];
        Assert.Equal([0, 1, 2, 3, 4, 0, 1, 2], first.PositionIds);
        Assert.Equal([0, 0, 0, 0, 0, 1, 1, 1], first.DocumentIds);
        Assert.Equal([.. Examples[0].InputIds, .. Examples[1].InputIds], first.InputIds);
        Assert.All(rows, r => Assert.True(r.Length <= 9));

        // A second example whose first token is a target: packing must mask it.
        var allTargets = new TokenizedExample([7, 8, 9], [7, 8, 9]);
        var packed = Assert.Single(Packer.Pack([allTargets, allTargets], 8));
        Assert.Equal([I, 8, 9, I, 8, 9], packed.Labels);
        Assert.Equal(allTargets.TargetTokens * 2, packed.Labels.Skip(1).Count(l => l != I));
    }

    [Fact]
    public void PackedTargetsEqualUnpackedTargets()
    {
        var rows = Packer.Pack(Examples, 9);
        var builder = new Batcher(0);
        using var packed = builder.Collate(rows);
        using var unpacked = builder.Collate(Examples);
        Assert.Equal(Examples.Sum(e => e.TargetTokens), packed.TargetTokens);
        Assert.Equal(unpacked.TargetTokens, packed.TargetTokens);
        Assert.Equal(Examples.Sum(e => e.Length), packed.Tokens);

        // Packed batches carry document ids; padding gets its own id.
        Assert.NotNull(packed.DocumentIds);
        Assert.Equal([0, 0, 0, 0, 1, 1, -1, -1], Row(packed.DocumentIds!, 1));
        Assert.Equal([0, 1, 2, 3, 0, 1, 0, 0], Row(packed.PositionIds, 1));
        Assert.Equal([I, I, 122, 123, I, I, I, I], Row(packed.Labels, 1)); // each doc masks its first two
    }

    [Fact]
    public void PackingRejectsExamplesLongerThanTheRow()
    {
        var e = Assert.Throws<UserException>(() => Packer.Pack(Examples, 5));
        Assert.Contains("6 tokens is longer than the packing length 5", e.Message);
    }

    static List<long[]> FirstColumn(IEnumerable<Batch> batches)
    {
        var result = new List<long[]>();
        foreach (var b in batches) using (b) result.Add(b.InputIds[.., 0].data<long>().ToArray());
        return result;
    }

    [Fact]
    public void SeededOrderIsReproducibleAndResumable()
    {
        var many = Enumerable.Range(0, 23).Select(k => new TokenizedExample([k + 10, 1], [k + 10, 1])).ToArray();
        var loader = new DataLoader(many, new Batcher(0), microBatchSize: 4, seed: 42);
        Assert.Equal(6, loader.BatchesPerEpoch);
        Assert.Equal(loader.Order(0), new DataLoader(many, new Batcher(0), 4, 42).Order(0));
        Assert.NotEqual(loader.Order(0), loader.Order(1));
        Assert.NotEqual(loader.Order(0), new DataLoader(many, new Batcher(0), 4, 43).Order(0));
        Assert.Equal(Enumerable.Range(0, 23), loader.Order(1).Order());

        var epoch1 = FirstColumn(loader.Epoch(1));
        Assert.Equal(6, epoch1.Count);
        Assert.Equal(3, epoch1[^1].Length); // 23 = 5*4 + 3
        Assert.Equal(epoch1.Skip(4), FirstColumn(loader.Epoch(1, startBatch: 4)));
        Assert.Equal(loader.BatchRows(1, 2).Select(i => (long)(i + 10)), epoch1[2]);
        Assert.Equal(Enumerable.Range(10, 23).Select(i => (long)i), epoch1.SelectMany(x => x).Order());

        Assert.Equal(Enumerable.Range(0, 23), new DataLoader(many, new Batcher(0), 4, 42, shuffle: false).Order(3));
    }

    [Fact]
    public void LoaderCanPack()
    {
        var loader = new DataLoader(Examples, new CharTokenizer(), microBatchSize: 2, seed: 1, packLength: 9);
        Assert.Equal(3, loader.RowCount);
        var batches = loader.Epoch(0).ToList();
        try
        {
            Assert.Equal(2, batches.Count);
            Assert.All(batches, b => Assert.NotNull(b.DocumentIds));
            Assert.Equal(Examples.Sum(e => e.TargetTokens), batches.Sum(b => b.TargetTokens));
        }
        finally { batches.ForEach(b => b.Dispose()); }
    }

    [Fact]
    public void SplitIsDeterministicAndDisjoint()
    {
        var items = Enumerable.Range(0, 50).ToArray();
        var (train, val) = DatasetSplit.Split(items, 0.1, seed: 7);
        Assert.Equal(5, val.Count);
        Assert.Equal(45, train.Count);
        Assert.Empty(train.Intersect(val));
        Assert.Equal(items, train.Concat(val).Order());
        Assert.Equal(val, DatasetSplit.Split(items, 0.1, 7).Validation);
        Assert.NotEqual(val, DatasetSplit.Split(items, 0.1, 8).Validation);
        Assert.Equal(train.Order(), train); // data order kept
        Assert.Empty(DatasetSplit.Split(items, 0, 7).Validation);
        Assert.Single(DatasetSplit.Split(items, 0.001, 7).Validation);
        Assert.Throws<UserException>(() => DatasetSplit.Split(items, 1.0, 7));
    }
}
