using System.Globalization;
using LoraLab.Sweeps;
using LoraLab.Sweeps.Methods;
using LoraLab.Sweeps.Presets;
using Xunit;

namespace LoraLab.Tests.Sweeps;

/// The methods preset's rules on hand-made results.csv / methods.csv: each outcome where it is decided, and what a
/// missing run does.
public class MethodsFindingsTests
{
    const string Val = "final val loss", Train = "final train loss", Count = "count acc", First = "first exact_match", Repeat = "repeat exact_match",
        Early = "early train loss", Late = "late train loss", Opt = "optimizer state (MB)", OptFile = "optimizer.bin (MB)", RankMin = "update rank min", RankMax = "update rank max";
    static readonly string[] Results = ["run", "status", Train, Val, Count, First, Repeat, "steps", "trainable params", "peak memory (MB)", "wall time (s)", "tokens/s"];
    static readonly string[] Measures = ["run", Early, Late, Opt, OptFile, RankMin, RankMax];

    /// Every run with the same numbers; LoRA's seeds spread val loss by ±0.01 and early train loss by ±0.02 (so at
    /// lora-seed1 a val loss difference counts above 0.02, an early train loss one above 0.04, a score one above 0.02,
    /// one held-out example of 50 at the full scale). Then `edit` changes some.
    static Dictionary<string, Dictionary<string, double>> Runs(Action<Dictionary<string, Dictionary<string, double>>>? edit = null)
    {
        var runs = MethodsRuns.All.ToDictionary(n => n, _ => new Dictionary<string, double>
        {
            [Train] = 0.3, [Val] = 0.5, [Count] = 0.9, [First] = 0.9, [Repeat] = 0.9, ["steps"] = 150, ["trainable params"] = 217088,
            ["peak memory (MB)"] = 320, ["wall time (s)"] = 10, ["tokens/s"] = 1000, [Early] = 2.0, [Late] = 0.4, [OptFile] = 1.7,
        });
        runs[MethodsRuns.Seed(2)][Val] = 0.49; runs[MethodsRuns.Seed(3)][Val] = 0.51;
        runs[MethodsRuns.Seed(2)][Early] = 1.98; runs[MethodsRuns.Seed(3)][Early] = 2.02;
        runs[MethodsRuns.Full][Opt] = 14.309; runs[MethodsRuns.Galore][Opt] = 6.101;
        runs[MethodsRuns.Relora][RankMin] = 64; runs[MethodsRuns.Relora][RankMax] = 64;
        runs[MethodsRuns.Full][RankMin] = 64; runs[MethodsRuns.Full][RankMax] = 192;
        edit?.Invoke(runs);
        return runs;
    }

    static IReadOnlyList<Finding> Judge(Dictionary<string, Dictionary<string, double>> runs, string? failed = null) => Judged(runs, failed).All();

    static MethodsFindings Judged(Dictionary<string, Dictionary<string, double>> runs, string? failed = null)
    {
        var dir = TempDir.New();
        string Cell(Dictionary<string, double> r, string c) => r.TryGetValue(c, out var v) ? v.ToString(CultureInfo.InvariantCulture) : "";
        File.WriteAllText(Path.Combine(dir, "results.csv"), SweepResults.Csv(Results, [.. runs.Select(r => (IReadOnlyList<string>)[r.Key,
            r.Key == failed ? "failed" : "done", .. Results.Skip(2).Select(c => r.Key == failed ? "" : Cell(r.Value, c))])]));
        File.WriteAllText(Path.Combine(dir, MethodsMeasures.Csv), SweepResults.Csv(Measures, [.. runs.Where(r => r.Key != failed)
            .Select(r => (IReadOnlyList<string>)[r.Key, .. Measures.Skip(1).Select(c => Cell(r.Value, c))])]));
        return new MethodsFindings(SweepNumbers.Read(dir, MethodsMeasures.Csv), MethodsScale.Full);
    }

    static Verdict V(IReadOnlyList<Finding> f, string id) => f.Single(x => x.Id == id).Verdict;

    [Fact]
    public void EqualRunsAreInconclusiveEverywhere()
    {
        var f = Judge(Runs());
        Assert.Equal(["dora", "pissa", "loraplus", "relora", "galore"], f.Select(x => x.Id));
        Assert.All(f, x => Assert.Equal(Verdict.Inconclusive, x.Verdict));
        Assert.Contains("the floor cannot tell them apart", f.Single(x => x.Id == "galore").Why); // LoRA = full: within the noise means nothing
        Assert.All(f, x => Assert.Equal(MethodRules.Of(x.Id), x.Rule));
    }

    [Fact]
    public void DoraNeedsToBeBetterSomewhereAndWorseNowhere()
    {
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => r[MethodsRuns.Dora][Val] = 0.4)), "dora"));
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => r[MethodsRuns.Dora][Count] = 1.0)), "dora"));    // a score up 0.1, the rest within the noise
        Assert.Equal(Verdict.Inconclusive, V(Judge(Runs(r => r[MethodsRuns.Dora][Val] = 0.515)), "dora"));  // +0.015 under the 0.02 threshold
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => r[MethodsRuns.Dora][Val] = 0.6)), "dora"));
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => r[MethodsRuns.Dora][Repeat] = 0.5)), "dora"));
        // better loss, worse score: the two point both ways
        Assert.Equal(Verdict.Inconclusive, V(Judge(Runs(r => { r[MethodsRuns.Dora][Val] = 0.4; r[MethodsRuns.Dora][First] = 0.5; })), "dora"));
    }

    [Theory]
    [InlineData("pissa")]
    [InlineData("loraplus")]
    public void ConvergenceIsAFasterStartThatDoesNotEndBehind(string run)
    {
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => r[run][Early] = 1.5)), run));
        Assert.Equal(Verdict.Inconclusive, V(Judge(Runs(r => r[run][Early] = 1.97)), run));                      // -0.03 under 0.04
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => r[run][Early] = 2.5)), run));
        var behind = Judge(Runs(r => { r[run][Early] = 1.5; r[run][Val] = 0.7; })).Single(x => x.Id == run); // faster start, worse end
        Assert.Equal(Verdict.Contradicted, behind.Verdict);
        Assert.StartsWith("started faster and ended behind", behind.Why);
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => { r[run][Early] = 1.5; r[run][Val] = 0.4; })), run));
        // the late train loss is shown, not judged
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => { r[run][Early] = 1.5; r[run][Late] = 3; })), run));
    }

    [Fact]
    public void ReloraMustMoveFromLoraTowardFullWithAnUpdateAboveRankR()
    {
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => { r[MethodsRuns.Full][Val] = 0.3; r[MethodsRuns.Relora][Val] = 0.4; })), "relora"));
        Assert.Contains("gap closed 50%", Judge(Runs(r => { r[MethodsRuns.Full][Val] = 0.3; r[MethodsRuns.Relora][Val] = 0.4; })).Single(x => x.Id == "relora").Why);
        // the update's rank is at most r somewhere: contradicted however the losses fall
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => { r[MethodsRuns.Full][Val] = 0.3; r[MethodsRuns.Relora][Val] = 0.4; r[MethodsRuns.Relora][RankMin] = 16; })), "relora"));
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => { r[MethodsRuns.Full][Val] = 0.3; r[MethodsRuns.Relora][Val] = 0.6; })), "relora")); // moved away
        Assert.Equal(Verdict.Inconclusive, V(Judge(Runs(r => { r[MethodsRuns.Full][Val] = 0.3; r[MethodsRuns.Relora][Val] = 0.49; })), "relora")); // did not move
        Assert.Equal(Verdict.Inconclusive, V(Judge(Runs(r => r[MethodsRuns.Relora][Val] = 0.4)), "relora")); // full no better than LoRA: no gap to close
        // full fine-tuning worse than LoRA (overfitting): a worse ReLoRA is not judged as approaching it
        var worse = Judge(Runs(r => { r[MethodsRuns.Full][Val] = 0.7; r[MethodsRuns.Relora][Val] = 0.6; })).Single(x => x.Id == "relora");
        Assert.Equal(Verdict.Inconclusive, worse.Verdict);
        Assert.StartsWith("full fine-tuning is not better than LoRA here", worse.Why);
    }

    [Fact]
    public void GaloreMustMatchFullWithLessStateWhereTheFloorCanTell()
    {
        // full is better than LoRA by a difference that counts, so matching it within the noise means something
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => { r[MethodsRuns.Full][Val] = 0.3; r[MethodsRuns.Galore][Val] = 0.305; })), "galore"));
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => { r[MethodsRuns.Full][Val] = 0.3; r[MethodsRuns.Galore][Val] = 0.5; })), "galore"));
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => { r[MethodsRuns.Full][Val] = 0.3; r[MethodsRuns.Galore][Val] = 0.3; r[MethodsRuns.Galore][Opt] = 14.2; })), "galore")); // 0.8% less: does not count
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => r[MethodsRuns.Galore][Val] = 0.4)), "galore")); // better than full
        Assert.Equal(Verdict.Inconclusive, V(Judge(Runs()), "galore"));
        Assert.Contains("42.6% of full fine-tuning's", Judge(Runs()).Single(x => x.Id == "galore").Why);
    }

    [Fact]
    public void AFailedRunMakesItsFindingsInconclusiveAndNamesIt()
    {
        var f = Judge(Runs(r => { r[MethodsRuns.Dora][Val] = 0.4; }), failed: MethodsRuns.Full);
        foreach (var id in new[] { "relora", "galore" })
        {
            Assert.Equal(Verdict.Inconclusive, V(f, id));
            Assert.Contains("run full did not finish", f.Single(x => x.Id == id).Why);
        }
        Assert.Equal(Verdict.Reproduced, V(f, "dora")); // judged without full fine-tuning

        // without all of LoRA's seeds there is no noise floor: every finding is inconclusive, the tables say why
        var judge = Judged(Runs(r => r[MethodsRuns.Dora][Val] = 0.4), failed: MethodsRuns.Seed(3));
        Assert.All(judge.All(), x => Assert.Equal(Verdict.Inconclusive, x.Verdict));
        Assert.Contains("no noise floor: LoRA's seeds did not all finish", judge.All()[0].Why);
        Assert.Contains("Not measured", judge.Sections()[0].Text);
    }

    [Fact]
    public void TheNoiseFloorTableShowsTheSeedsTheirSpreadAndTheThresholds()
    {
        var s = Judged(Runs()).Sections();
        Assert.Equal(["noise-floor", "runs"], s.Select(x => x.Id));
        Assert.Equal(5, s[0].Rows.Count); // three seeds, mean ± std, threshold
        Assert.Equal("0.5000 ± 0.0100", s[0].Rows[3][1]);
        Assert.Equal("0.0200", s[0].Rows[4][1]);  // 2 × 0.01 against 2% of 0.5 = 0.01
        Assert.Equal("0.0400", s[0].Rows[4][3]);  // early train loss: 2 × 0.02, and 2% of 2.0
        Assert.Equal(MethodsRuns.All.Count, s[1].Rows.Count);
    }
}
