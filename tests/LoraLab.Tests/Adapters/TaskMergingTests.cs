using System.Text.Json;
using LoraLab.Adapters.Combining;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// The entry-wise steps of `combine --method ties|dare|dare-ties` on hand-computed cases and against the torch
/// reference of PEFT's definitions (tools/ties_dare_reference.py → Fixtures/merging/reference.json).
public class TaskMergingTests
{
    static Tensor M(double[,] v) => tensor(v, dtype: ScalarType.Float64);

    static void Equal(Tensor expected, Tensor actual, double tol = 1e-12)
    {
        Assert.Equal(expected.dtype, actual.dtype);
        Assert.True(actual.allclose(expected, rtol: 0, atol: tol), $"expected {expected.ToString(TorchSharp.TensorStringStyle.Numpy)}\ngot {actual.ToString(TorchSharp.TensorStringStyle.Numpy)}");
    }

    [Fact]
    public void TrimKeepsTheLargestMagnitudes()
    {
        using var scope = NewDisposeScope();
        var d = M(new double[,] { { 3, -1, 0.5 }, { -4, 2, 0.1 } });
        Equal(M(new double[,] { { 3, 0, 0 }, { -4, 0, 0 } }), TaskMerging.MagnitudeTrim(d, 0.34)); // ⌊0.34·6⌋ = 2
        Equal(M(new double[,] { { 3, 0, 0 }, { -4, 2, 0 } }), TaskMerging.MagnitudeTrim(d, 0.5));
        Equal(d, TaskMerging.MagnitudeTrim(d, 1));
        Equal(zeros_like(d), TaskMerging.MagnitudeTrim(d, 0.1)); // ⌊0.6⌋ = 0 entries
    }

    [Fact]
    public void SignsAreElectedByTotalOrFrequencyAndOnlyAgreeingEntriesAreAveraged()
    {
        using var scope = NewDisposeScope();
        // entry 0: 2 against −3 (total elects −, a 1:1 vote elects +); entry 1: both −; entry 2: both +; entry 3: both 0
        var t1 = M(new double[,] { { 2, -1, 1, 0 } });
        var t2 = M(new double[,] { { -3, -1, 2, 0 } });
        double[] w = [1, 0.5];
        // weighted: t1 = [2, −1, 1, 0], t2 = [−1.5, −0.5, 1, 0]
        Equal(M(new double[,] { { -1.5, -0.75, 1, 0 } }), TaskMerging.Ties([t1, t2], w, 1, MajoritySign.Total));
        Equal(M(new double[,] { { 2, -0.75, 1, 0 } }), TaskMerging.Ties([t1, t2], w, 1, MajoritySign.Frequency));
        // the sign is elected on the unweighted entries: a weight of −1 flips the contribution, not the vote
        // weighted by −1: t1 = [−2, 1, −1, 0], t2 = [3, 1, −2, 0]; entry 0 still goes to t2 alone (its −3 won the vote)
        Equal(M(new double[,] { { 3, 1, -1.5, 0 } }), TaskMerging.Ties([t1, t2], [-1, -1], 1, MajoritySign.Total));
        // one adapter at density 1 is that adapter, times its weight
        Equal(t2.mul(0.5), TaskMerging.Ties([t2], [0.5], 1, MajoritySign.Total));
    }

    [Fact]
    public void DareDropsEntriesAndRescalesTheRestDeterministicallyBySeed()
    {
        using var scope = NewDisposeScope();
        var d = ones(20, 30, dtype: ScalarType.Float64);
        Tensor Drop(ulong seed, double density) { using var g = new Generator(seed); return TaskMerging.RandomDrop(d, density, g); }
        var dropped = Drop(3, 0.25);
        // every entry is either dropped (0) or kept and divided by the density (4)
        Assert.True(dropped.eq(0).logical_or(dropped.eq(4)).all().item<bool>());
        double kept = dropped.ne(0).to(ScalarType.Float64).mean().item<double>();
        Assert.InRange(kept, 0.18, 0.32);
        Equal(dropped, Drop(3, 0.25), 0);
        Assert.True(dropped.sub(Drop(4, 0.25)).abs().max().item<double>() > 0);
        Equal(d, Drop(3, 1), 0);
        using var g = new Generator(1);
        Equal(d.mul(0.7).add(d.mul(2).mul(-0.4)), TaskMerging.Dare([d, d.mul(2)], [0.7, -0.4], 1, g));
    }

    static readonly JsonDocument Reference = JsonDocument.Parse(File.ReadAllText(RepoFixtures.Path_("merging", "reference.json")));

    static Tensor FromJson(JsonElement rows) => tensor(
        rows.EnumerateArray().SelectMany(r => r.EnumerateArray().Select(x => x.GetDouble())).ToArray(),
        [rows.GetArrayLength(), rows[0].GetArrayLength()], ScalarType.Float64);

    public static TheoryData<int> Cases() => new(Enumerable.Range(0, Reference.RootElement.GetProperty("cases").GetArrayLength()));

    /// Two and three small random ΔWs, weights with a negative one, densities 0.35 and 1, both sign elections.
    [Theory]
    [MemberData(nameof(Cases))]
    public void EqualsTheTorchReferenceOfPeftsDefinitions(int index)
    {
        using var scope = NewDisposeScope();
        var root = Reference.RootElement;
        var c = root.GetProperty("cases")[index];
        var deltas = root.GetProperty("deltas").EnumerateArray().Take(c.GetProperty("adapters").GetInt32()).Select(FromJson).ToList();
        var weights = c.GetProperty("weights").EnumerateArray().Select(w => w.GetDouble()).ToArray();
        double density = c.GetProperty("density").GetDouble();
        var sign = c.TryGetProperty("majority_sign", out var s) ? CombineMethods.ParseMajoritySign(s.GetString()) : MajoritySign.Total;
        using var g = new Generator(c.TryGetProperty("seed", out var seed) ? (ulong)seed.GetInt64() : 0);
        var actual = c.GetProperty("method").GetString() switch
        {
            "ties" => TaskMerging.Ties(deltas, weights, density, sign),
            "dare" => TaskMerging.Dare(deltas, weights, density, g),
            "dare-ties" => TaskMerging.DareTies(deltas, weights, density, sign, g),
            var m => throw new InvalidOperationException(m),
        };
        Equal(FromJson(c.GetProperty("result")), actual, 1e-5);
    }
}
