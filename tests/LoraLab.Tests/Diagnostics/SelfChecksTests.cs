using LoraLab.Diagnostics;
using Xunit;

namespace LoraLab.Tests.Diagnostics;

/// The self-checks `loralab doctor` runs must pass on a healthy build: packing, accumulation, merge and NF4.
public class SelfChecksTests
{
    [Fact]
    public void PackingGivesTheUnpackedLoss() => AssertPasses(SelfChecks.Packing());

    [Fact]
    public void AccumulationEqualsTheLargeBatch() => AssertPasses(SelfChecks.Accumulation());

    [Fact]
    public void MergedModelMatchesBasePlusAdapter() => AssertPasses(SelfChecks.MergeExactness());

    [Fact]
    public void Nf4RoundTripIsWithinItsBound() => AssertPasses(SelfChecks.Nf4RoundTrip());

    [Fact]
    public void RunAllRunsEveryCheckOnce() =>
        Assert.Equal(new[] { SelfChecks.Packing().Name, SelfChecks.Accumulation().Name, SelfChecks.MergeExactness().Name, SelfChecks.Nf4RoundTrip().Name },
            SelfChecks.RunAll().Select(c => c.Name));

    static void AssertPasses(CheckResult r) => Assert.True(r.Passed, $"{r.Name}: {r.Detail}");
}
