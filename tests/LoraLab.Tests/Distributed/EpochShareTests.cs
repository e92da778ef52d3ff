using LoraLab.Data;
using Xunit;

namespace LoraLab.Tests.Distributed;

/// DataLoader.EpochShare: the ranks' shares of each micro-batch are its rows in order, split into consecutive parts
/// that differ by at most one row, each with the whole micro-batch's counts.
public class EpochShareTests
{
    const int I = Labels.Ignore;

    // 7 examples of lengths 3..9; example k's ids start at 1000 * (k + 1), so a row names its example. The first two
    // labels of each are masked.
    static readonly TokenizedExample[] Examples = Enumerable.Range(0, 7).Select(k =>
    {
        var ids = Enumerable.Range(0, 3 + k).Select(i => 1000 * (k + 1) + i).ToArray();
        return new TokenizedExample(ids, ids.Select((id, i) => i < 2 ? I : id).ToArray());
    }).ToArray();

    static DataLoader Loader(int? packLength) => new(Examples, new Batcher(0), microBatchSize: 5, seed: 3, packLength: packLength);

    static List<long> FirstIds(Batch b) => Enumerable.Range(0, (int)b.InputIds.shape[0]).Select(r => b.InputIds[r, 0].item<long>()).ToList();

    [Theory]
    [InlineData(2, null)]
    [InlineData(3, null)]
    [InlineData(2, 12)]
    [InlineData(3, 12)]
    public void SharesPartitionEachMicroBatchInOrderWithItsWholeCounts(int ranks, int? packLength)
    {
        var loader = Loader(packLength);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            var whole = loader.Epoch(epoch).ToList();
            var shares = Enumerable.Range(0, ranks).Select(r => loader.EpochShare(epoch, 0, r, ranks).ToList()).ToList();
            Assert.All(shares, s => Assert.Equal(whole.Count, s.Count));
            for (int b = 0; b < whole.Count; b++)
            {
                var parts = shares.Select(s => s[b]).ToList();
                Assert.Equal(FirstIds(whole[b]), parts.SelectMany(p => p.Rows is null ? [] : FirstIds(p.Rows)));
                var sizes = parts.Select(p => p.Rows is null ? 0 : (int)p.Rows.InputIds.shape[0]).ToList();
                Assert.True(sizes.Max() - sizes.Min() <= 1, $"batch {b}: share sizes {string.Join(", ", sizes)}");
                Assert.All(parts, p => Assert.Equal((whole[b].TargetTokens, whole[b].Tokens), (p.TargetTokens, p.Tokens)));
                Assert.Equal(whole[b].TargetTokens, parts.Sum(p => p.Rows?.TargetTokens ?? 0)); // the shares' own targets add up
            }
            foreach (var d in whole.Concat<IDisposable>(shares.SelectMany(s => s))) d.Dispose();
        }
    }

    [Fact]
    public void ARankWithNoRowsGetsNullRowsAndTheWholeCounts()
    {
        var loader = Loader(null); // 7 rows in micro-batches of 5: the last has 2 rows, so 1 of 3 ranks gets none
        using var last = loader.Epoch(0, startBatch: 1).Single();
        var shares = Enumerable.Range(0, 3).Select(r => loader.EpochShare(0, 1, r, 3).Single()).ToList();
        var empty = Assert.Single(shares, s => s.Rows is null);
        Assert.Equal((last.TargetTokens, last.Tokens), (empty.TargetTokens, empty.Tokens));
        Assert.Equal(last.TargetTokens, ((IStepBatch)empty).Weight);
        foreach (var s in shares) s.Dispose();
    }

    [Fact]
    public void StartingLaterYieldsTheSameShares()
    {
        var loader = Loader(null);
        var all = loader.EpochShare(1, 0, 1, 2).ToList();
        var later = Assert.Single(loader.EpochShare(1, 1, 1, 2));
        Assert.Equal(FirstIds(all[1].Rows!), FirstIds(later.Rows!));
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.EpochShare(1, 3, 0, 2).ToList());
        foreach (var s in all.Append(later)) s.Dispose();
    }
}
