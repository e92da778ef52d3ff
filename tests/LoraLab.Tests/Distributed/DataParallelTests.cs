using LoraLab.Distributed;
using Xunit;
using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace LoraLab.Tests.Distributed;

/// DataParallel's exchanges over an in-process job of threads (ThreadWorld).
public class DataParallelTests
{
    static Parameter Param(params long[] shape) => new(zeros(shape));

    [Fact]
    public void SumGradientsSumsEveryRanksGradientsAndLossNullCountingAsZero()
    {
        var world = new ThreadWorld(2);
        var results = world.Run(dp =>
        {
            var (a, b) = (Param(2, 2), Param(3));
            a.grad = full(new long[] { 2, 2 }, dp.Rank + 1f); // rank 0: 1s, rank 1: 2s
            if (dp.Rank == 1) b.grad = tensor(new[] { 1f, 2f, 3f }); // rank 0 has no gradient for b
            using var loss = tensor(dp.Rank == 0 ? 1.5f : 2.5f);
            dp.AgreedStop(CancellationToken.None);
            var total = dp.SumGradients([a, b], loss);
            return (total, A: a.grad!.data<float>().ToArray(), B: b.grad!.data<float>().ToArray());
        });
        foreach (var (total, a, b) in results)
        {
            Assert.Equal(4.0, total);
            Assert.Equal([3f, 3f, 3f, 3f], a);
            Assert.Equal([1f, 2f, 3f], b);
        }
        Assert.Equal(["summing the gradients of step 1"], world.During);
    }

    [Fact]
    public void AStepWithoutLossOnARankCountsItAsZero()
    {
        var totals = new ThreadWorld(2).Run(dp =>
        {
            var p = Param(2);
            using var loss = tensor(3f);
            dp.AgreedStop(CancellationToken.None);
            return dp.SumGradients([p], dp.Rank == 0 ? loss : null); // rank 1 had no rows in this window
        });
        Assert.Equal([3.0, 3.0], totals);
    }

    [Fact]
    public void AGradientClearedSinceTheLastStepCountsAsZero()
    {
        var second = new ThreadWorld(2).Run(dp =>
        {
            var p = Param(2);
            dp.AgreedStop(CancellationToken.None);
            p.grad = full(2, 5f);
            dp.SumGradients([p], null); // the buffer now holds 10s
            p.grad = dp.Rank == 0 ? null : ones(2); // rank 0's gradient cleared (zero_grad sets none)
            dp.SumGradients([p], null);
            return p.grad!.data<float>().ToArray();
        });
        Assert.All(second, g => Assert.Equal([1f, 1f], g));
    }

    /// A tensor no rank has a gradient for keeps none, as one process leaves it, so the optimizer skips it (no weight
    /// decay, no moment decay), while a tensor some rank has one for gets the sum.
    [Fact]
    public void ATensorNoRankHasAGradientForKeepsNone()
    {
        var grads = new ThreadWorld(2).Run(dp =>
        {
            var (none, some) = (Param(2), Param(2));
            dp.AgreedStop(CancellationToken.None);
            none.grad = null;
            some.grad = dp.Rank == 1 ? full(2, 3f) : null;
            dp.SumGradients([none, some], null);
            return (None: none.grad is null, Some: some.grad!.data<float>().ToArray());
        });
        Assert.All(grads, g => { Assert.True(g.None); Assert.Equal([3f, 3f], g.Some); });
    }

    [Theory]
    [InlineData(-1, false)]
    [InlineData(0, true)]
    [InlineData(1, true)]
    public void AnyRanksStopFlagStopsEveryRankAfterTheStep(int interrupted, bool stops)
    {
        var stopped = new ThreadWorld(2).Run(dp =>
        {
            using var local = new CancellationTokenSource();
            if (dp.Rank == interrupted) local.Cancel();
            var agreed = dp.AgreedStop(local.Token);
            var p = Param(1);
            p.grad = ones(1);
            bool before = agreed.IsCancellationRequested;
            dp.SumGradients([p], null);
            return (before, after: agreed.IsCancellationRequested);
        });
        Assert.All(stopped, s => Assert.False(s.before));
        Assert.All(stopped, s => Assert.Equal(stops, s.after));
    }

    [Fact]
    public void CheckSameRunNamesTheRankAndItemThatDiffer()
    {
        var outcome = new ThreadWorld(3).Run(dp =>
        {
            try
            {
                dp.CheckSameRun([
                    ("settings", DataParallel.Digest("lr: 0.001")),
                    ("base model", DataParallel.Digest(dp.Rank == 2 ? "other weights" : "weights")),
                ]);
                return "";
            }
            catch (UserException e) { return e.Message; }
        });
        Assert.All(outcome, m => Assert.Contains("the ranks are not training the same run, these differ from rank 0's: rank 2's base model;", m));
        Assert.All(outcome, m => Assert.DoesNotContain("settings", m.Split(';')[0]));
        Assert.StartsWith("rank 1 of 3: ", outcome[1]);
    }

    [Fact]
    public void CheckSameRunPassesWhenEveryRankHasTheSame()
    {
        var outcome = new ThreadWorld(2).Run(dp =>
        {
            dp.CheckSameRun([("training data", DataParallel.Digest([(new[] { 1, 2 }, new[] { -100, 2 })]))]);
            return true;
        });
        Assert.All(outcome, Assert.True);
        Assert.NotEqual(DataParallel.Digest([(new[] { 1, 2 }, new[] { -100, 2 })]), DataParallel.Digest([(new[] { 1, 2 }, new[] { 1, 2 })]));
    }

    [Fact]
    public void SumAddsValidationSumsAndCountsAndAlignTakesRankZerosWeights()
    {
        var results = new ThreadWorld(2).Run(dp =>
        {
            var (sum, count) = dp.Sum(dp.Rank + 0.5, 10 + dp.Rank, "validating");
            var p = new Parameter(full(new long[] { 2, 3 }, dp.Rank + 7f).t()); // not contiguous
            dp.Align([p]);
            return (sum, count, p.data<float>().ToArray());
        });
        Assert.All(results, r => Assert.Equal((2.0, 21L), (r.sum, r.count)));
        Assert.All(results, r => Assert.Equal(Enumerable.Repeat(7f, 6), r.Item3));
    }
}
