using LoraLab.Data;
using LoraLab.Data.Preferences;
using LoraLab.Tests.Fakes;
using Xunit;

namespace LoraLab.Tests.Data.Preferences;

public class PreferenceLoaderTests
{
    const int I = LoraLab.Data.Labels.Ignore, Pad = 0;

    /// Pair i: prompt [1, 10+i], chosen [20+i, 2], rejected [30+i, 31+i, 2] (lengths 4 and 5).
    static List<TokenizedPair> Pairs(int n) =>
        Enumerable.Range(0, n).Select(i => new TokenizedPair(i, [1, 10 + i], [20 + i, 2], [30 + i, 31 + i, 2], "p.jsonl", i + 1)).ToList();

    static long[][] Rows(PreferenceBatch b, bool labels = false)
    {
        var t = labels ? b.Labels : b.InputIds;
        return Enumerable.Range(0, (int)t.shape[0]).Select(r => t[r].data<long>().ToArray()).ToArray();
    }

    [Fact]
    public void ABatchIsChosenRowsThenRejectedRowsRightPaddedWithCompletionLabels()
    {
        var loader = new PreferenceLoader(Pairs(2), Pad, microBatchPairs: 2, seed: 0, shuffle: false);
        using var b = Assert.Single(loader.Epoch(0));
        Assert.Equal([4L, 5L], b.InputIds.shape);
        Assert.Equal([4L, 5L], b.Labels.shape);
        Assert.Equal([0, 1], b.PairIndices);
        Assert.Equal(2 * 4 + 2 * 5, b.Tokens);
        long[][] ids = [[1, 10, 20, 2, Pad], [1, 11, 21, 2, Pad], [1, 10, 30, 31, 2], [1, 11, 31, 32, 2]];
        Assert.Equal(ids, Rows(b));
        long[][] labels = [[I, I, 20, 2, I], [I, I, 21, 2, I], [I, I, 30, 31, 2], [I, I, 31, 32, 2]];
        Assert.Equal(labels, Rows(b, labels: true));
    }

    [Fact]
    public void ThePadIdIsTheSupervisedBatchersChoice()
    {
        var loader = new PreferenceLoader(Pairs(1), new CharTokenizer(padId: 7), 1, 0, shuffle: false);
        Assert.Equal(7, loader.PadId);
        using var b = loader.Epoch(0).Single();
        Assert.Equal(7, Rows(b)[0][^1]);
        Assert.Equal(CharTokenizer.Eos, new PreferenceLoader(Pairs(1), new CharTokenizer(padId: null), 1, 0).PadId);
    }

    [Fact]
    public void OrderIsSeededPerEpochAndSkippingResumesTheSameBatches()
    {
        var pairs = Pairs(10);
        var a = new PreferenceLoader(pairs, Pad, 3, seed: 5);
        Assert.Equal(4, a.BatchesPerEpoch);
        int[][] Indices(PreferenceLoader l, int epoch, int skip = 0) =>
            l.Epoch(epoch, skip).Select(b => { using (b) return b.PairIndices; }).ToArray();
        var first = Indices(a, 0);
        Assert.Equal(first, Indices(new PreferenceLoader(pairs, Pad, 3, seed: 5), 0));
        Assert.Equal(SeededShuffleOrder(10, 5), first.SelectMany(x => x));
        Assert.NotEqual(first, Indices(a, 1));
        Assert.NotEqual(first, Indices(new PreferenceLoader(pairs, Pad, 3, seed: 6), 0));
        Assert.Equal(first[2..], Indices(a, 0, skip: 2));
        Assert.Single(first[^1]);                                     // the last batch holds the remainder
        Assert.Equal(Enumerable.Range(0, 10), Indices(new PreferenceLoader(pairs, Pad, 3, 5, shuffle: false), 0).SelectMany(x => x));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.Epoch(0, 5).ToList());
    }

    /// The supervised loader's order for the same seed and epoch 0 (both use one shuffle).
    static int[] SeededShuffleOrder(int n, int seed)
    {
        var examples = Enumerable.Range(0, n).Select(_ => new TokenizedExample([1, 2], [1, 2])).ToList();
        return new DataLoader(examples, new Batcher(0), 1, seed).Order(0);
    }

    [Fact]
    public void BadSizesAreUserErrors()
    {
        Assert.Throws<UserException>(() => new PreferenceLoader([], Pad, 1, 0));
        Assert.Throws<UserException>(() => new PreferenceLoader(Pairs(1), Pad, 0, 0));
    }
}
