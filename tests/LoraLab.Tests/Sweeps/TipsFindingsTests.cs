using System.Globalization;
using LoraLab.Sweeps;
using LoraLab.Sweeps.Presets;
using LoraLab.Sweeps.Tips;
using Xunit;

namespace LoraLab.Tests.Sweeps;

/// The findings' rules on hand-made results.csv / scores.csv: each outcome where it is decided, and what a missing
/// run does.
public class TipsFindingsTests
{
    const string Val = "final val loss", Train = "final train loss", Mem = "peak memory (MB)", Tps = "tokens/s", Count = "count acc", First = "first exact_match", Repeat = "repeat exact_match";
    static readonly string[] Columns = ["run", "status", Train, Val, Count, First, Repeat, "trainable params", Mem, Tps];

    /// Every run of the full preset with the same numbers (seeds spread val loss by ±0.01), then `edit` changes some.
    static Dictionary<string, Dictionary<string, double>> Runs(Action<Dictionary<string, Dictionary<string, double>>>? edit = null)
    {
        var names = new List<string>(TipsRuns.Seeds) { TipsRuns.Qlora, TipsRuns.AdamwConstant, TipsRuns.SgdCosine, TipsRuns.SgdConstant, TipsRuns.FullAdamw,
            TipsRuns.FullSgd, TipsRuns.Epochs(2), TipsRuns.Epochs(4), TipsRuns.TargetsKv, TipsRuns.TargetsQv, TipsRuns.CountOnly, TipsRuns.FirstOnly,
            TipsRuns.RankPattern, TipsRuns.RankUniform };
        foreach (var r in TipsScale.Full.Ranks) foreach (var f in TipsScale.Full.AlphaFactors) names.Add(TipsRuns.RankAlpha(r, f * r));
        var runs = names.Distinct().ToDictionary(n => n, _ => new Dictionary<string, double>
            { [Train] = 0.3, [Val] = 0.5, [Count] = 0.9, [First] = 0.9, [Repeat] = 0.9, ["trainable params"] = 217088, [Mem] = 340, [Tps] = 4000 });
        for (int k = 1; k <= 3; k++) runs[TipsRuns.Seed(k)][Val] = 0.49 + 0.01 * (k - 1);
        edit?.Invoke(runs);
        return runs;
    }

    static IReadOnlyList<Finding> Judge(Dictionary<string, Dictionary<string, double>> runs, string? failed = null, long qloraSaving = 50_000_000)
    {
        var dir = TempDir.New();
        string Cell(double v) => v.ToString(CultureInfo.InvariantCulture);
        var rows = runs.Select(r => (IReadOnlyList<string>)[r.Key, r.Key == failed ? "failed" : "done",
            .. Columns.Skip(2).Select(c => r.Key == failed ? "" : Cell(r.Value[c]))]).ToList();
        File.WriteAllText(Path.Combine(dir, "results.csv"), SweepResults.Csv(Columns, rows));
        File.WriteAllText(Path.Combine(dir, "scores.csv"), SweepResults.Csv(["run", Count, First, Repeat],
            [["base", "0", "0", "0"], ["combined-cat", "0.9", "0.9", "0.9"], ["combined-svd", "0.1", "0.1", "0.1"], ["combined-linear", "0.1", "0.1", "0.1"]]));
        var facts = new SevenBFacts(4_194_304, 4_194_304, 19_988_480, 14_000_000_000, 7_000_000_000, 16_000_000_000, qloraSaving);
        return new TipsFindings(TipsNumbers.Read(dir), TipsScale.Full, facts).All();
    }

    static Verdict V(IReadOnlyList<Finding> f, string id) => f.Single(x => x.Id == id).Verdict;

    [Fact]
    public void EqualRunsGiveWhatEachRuleSaysOfNoDifference()
    {
        var f = Judge(Runs());
        Assert.Equal(12, f.Count);
        Assert.Equal(Verdict.Reproduced, V(f, "seeds"));        // val std 0.01 is 2% of 0.5
        Assert.Equal(Verdict.Inconclusive, V(f, "qlora"));      // nothing differs
        Assert.Equal(Verdict.Inconclusive, V(f, "optimizers")); // plain SGD not worse
        Assert.Equal(Verdict.Inconclusive, V(f, "adam-memory")); // full fine-tuning's difference does not count either
        Assert.Equal(Verdict.Inconclusive, V(f, "epochs"));
        Assert.Equal(Verdict.Reproduced, V(f, "rank-alpha"));   // 2r within the noise of the best everywhere
        Assert.Equal(Verdict.Inconclusive, V(f, "targets"));
        Assert.Equal(Verdict.Inconclusive, V(f, "lora-vs-full"));
        Assert.Equal(Verdict.Contradicted, V(f, "one-dataset")); // counting-only lifts both tasks over the base's 0
        Assert.Equal(Verdict.Reproduced, V(f, "combining"));    // cat keeps both
        Assert.Equal(Verdict.Inconclusive, V(f, "layerwise-rank"));
        Assert.Equal(Verdict.Reproduced, V(f, "7b"));           // the facts put QLoRA r 256 at 14 GB
        var off = new SevenBFacts(1, 1, 1, 20_000_000_000, 1, 1, 1); // 20 GB: 43% over the reported 14
        Assert.Equal(Verdict.Contradicted, new TipsFindings(TipsNumbers.Read(TempDir.New()), TipsScale.Full, off).All().Single(x => x.Id == "7b").Verdict);
    }

    [Fact]
    public void EachRuleDecidesItsOutcomes()
    {
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => r[TipsRuns.Seed(3)][Val] = 0.8)), "seeds"));
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => { r[TipsRuns.Qlora][Mem] = 200; r[TipsRuns.Qlora][Tps] = 2000; })), "qlora"));
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => r[TipsRuns.Qlora][Mem] = 400)), "qlora"));
        // a saving the measurement cannot see (5 MB under a 6.8 MB threshold): memory is not judged either way
        Assert.Equal(Verdict.Inconclusive, V(Judge(Runs(r => r[TipsRuns.Qlora][Mem] = 400), qloraSaving: 5_000_000), "qlora"));
        Assert.Equal(Verdict.Inconclusive, V(Judge(Runs(r => { r[TipsRuns.Qlora][Mem] = 200; r[TipsRuns.Qlora][Tps] = 2000; }), qloraSaving: 5_000_000), "qlora"));
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => r[TipsRuns.SgdConstant][Val] = 0.9)), "optimizers"));
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => { r[TipsRuns.SgdConstant][Val] = 0.9; r[TipsRuns.SgdCosine][Val] = 0.7; })), "optimizers"));
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => r[TipsRuns.FullAdamw][Mem] = 380)), "adam-memory"));
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => r[TipsRuns.SgdCosine][Mem] = 300)), "adam-memory"));
        Assert.Equal(Verdict.Inconclusive, V(Judge(Runs(r => { r[TipsRuns.FullAdamw][Mem] = 380; r[TipsRuns.SgdCosine][Mem] = 380; })), "adam-memory")); // LoRA's AdamW smaller
        // overfitting: 4 epochs' val loss up while its train loss goes down
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => { r[TipsRuns.Epochs(4)][Val] = 0.8; r[TipsRuns.Epochs(4)][Train] = 0.1; })), "epochs"));
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => { r[TipsRuns.Epochs(2)][Val] = 0.3; r[TipsRuns.Epochs(4)][Val] = 0.1; })), "epochs"));
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => { r[TipsRuns.TargetsKv][Val] = 0.9; r[TipsRuns.TargetsQv][Val] = 0.9; })), "targets"));
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => r[TipsRuns.TargetsQv][Val] = 0.2)), "targets"));
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => { foreach (var k in new[] { 4, 16, 64 }) r[TipsRuns.RankAlpha(k, 4 * k)][Val] = 0.1; })), "rank-alpha"));
        Assert.Equal(Verdict.Inconclusive, V(Judge(Runs(r => r[TipsRuns.RankAlpha(4, 16)][Val] = 0.1)), "rank-alpha"));
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => r[TipsRuns.FullAdamw][Mem] = 400)), "lora-vs-full"));
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => r[TipsRuns.FullAdamw][Val] = 0.3)), "lora-vs-full"));
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => r[TipsRuns.CountOnly][First] = 0)), "one-dataset"));
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => r[TipsRuns.CountOnly][Repeat] = 0)), "one-dataset"));
        Assert.Equal(Verdict.Inconclusive, V(Judge(Runs(r => r[TipsRuns.FirstOnly][First] = 0)), "combining"));
        Assert.Equal(Verdict.Reproduced, V(Judge(Runs(r => r[TipsRuns.RankPattern][Val] = 0.3)), "layerwise-rank"));
        Assert.Equal(Verdict.Contradicted, V(Judge(Runs(r => r[TipsRuns.RankPattern][Val] = 0.8)), "layerwise-rank"));
    }

    /// A baseline that did not learn a task leaves the quality findings unjudged: they would compare untrained models.
    [Fact]
    public void QualityFindingsNeedABaselineThatLearntEveryTask()
    {
        var f = Judge(Runs(r => { r[TipsRuns.Baseline][Repeat] = 0; r[TipsRuns.TargetsKv][Val] = 0.9; r[TipsRuns.TargetsQv][Val] = 0.9; }));
        foreach (var id in new[] { "optimizers", "epochs", "targets", "rank-alpha", "lora-vs-full", "layerwise-rank" })
        {
            Assert.Equal(Verdict.Inconclusive, V(f, id));
            Assert.Contains("the baseline did not learn the tasks at this scale", f.Single(x => x.Id == id).Why);
        }
        Assert.NotEqual(Verdict.Inconclusive, V(f, "one-dataset")); // judged on its own adapter
    }

    [Fact]
    public void AFailedRunMakesItsFindingsInconclusiveAndNamesIt()
    {
        var f = Judge(Runs(), failed: TipsRuns.Qlora);
        var q = f.Single(x => x.Id == "qlora");
        Assert.Equal(Verdict.Inconclusive, q.Verdict);
        Assert.Contains("run qlora did not finish", q.Why);
        Assert.Equal(Rules.Of("qlora"), q.Rule);

        // without all the seeds there is no noise floor: every comparison is inconclusive, the estimate still judged
        f = Judge(Runs(), failed: TipsRuns.Seed(2));
        Assert.All(f.Where(x => x.Id != "7b"), x => Assert.Equal(Verdict.Inconclusive, x.Verdict));
        Assert.Contains("no noise floor", f.Single(x => x.Id == "targets").Why);
        Assert.Equal(Verdict.Reproduced, V(f, "7b")); // an estimate, judged without the runs
    }
}
