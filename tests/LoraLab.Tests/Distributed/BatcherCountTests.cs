using LoraLab.Data;
using Xunit;

namespace LoraLab.Tests.Distributed;

/// Batcher.Count (what a rank's share reports for the whole micro-batch) counts what Collate counts.
public class BatcherCountTests
{
    const int I = Labels.Ignore;

    static readonly TokenizedExample[] Examples =
    [
        new([1, 2, 3, 4], [I, I, 3, 4]),
        new([5, 6], [5, 6]),          // the first label is a target, but no prediction precedes it
        new([7, 8, 9], [I, I, I]),
    ];

    [Fact]
    public void CountsEqualCollatesForUnpackedAndPackedRows()
    {
        var batcher = new Batcher(0);
        using var unpacked = batcher.Collate(Examples);
        Assert.Equal((3, 9), Batcher.Count(Examples.Select(e => (e.InputIds, e.Labels))));
        Assert.Equal((unpacked.TargetTokens, unpacked.Tokens), Batcher.Count(Examples.Select(e => (e.InputIds, e.Labels))));

        var rows = Packer.Pack(Examples, 6);
        using var packed = batcher.Collate(rows);
        Assert.Equal((packed.TargetTokens, packed.Tokens), Batcher.Count(rows.Select(r => (r.InputIds, r.Labels))));
        Assert.Equal((0, 0), Batcher.Count([]));
    }
}
