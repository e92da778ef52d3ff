using System.Globalization;
using System.Text.Json;
using LoraLab.Sweeps.Presets;
using LoraLab.Sweeps.Tips;
using Xunit;

namespace LoraLab.Tests.Sweeps;

/// `loralab sweep --preset lora-tips --quick` end to end, and every verdict of its report recomputed here from
/// results.csv and scores.csv by the rules the report states, written out again independently of TipsFindings.
[Collection("cli")]
public class TipsPresetTests
{
    [Fact]
    public void QuickPresetJudgesEveryFindingByItsStatedRuleFromTheNumbersInResultsCsv()
    {
        var dir = Path.Combine(TempDir.New(), "tips");
        var (code, stdout, err) = CliRunner.Run("sweep", "--preset", "lora-tips", "--quick", "--out", dir);
        Assert.True(code == 0, $"exit {code}\n{err}\n{stdout}");
        foreach (var f in new[] { "tips-report.md", "tips-report.html", "tips.json", "results.csv", "scores.csv", "sweep.yaml", "sweep-layerwise.yaml" })
            Assert.True(File.Exists(Path.Combine(dir, f)), $"{f} missing\n{stdout}");

        var t = Csv.Read(Path.Combine(dir, "results.csv"), Path.Combine(dir, "scores.csv"));
        Assert.All(t.Rows.Where(r => r.Value.ContainsKey("status")), r => Assert.Equal("done", r.Value["status"]));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "tips.json")));
        var reported = json.RootElement.GetProperty("findings").EnumerateArray()
            .ToDictionary(f => f.GetProperty("id").GetString()!, f => f.GetProperty("verdict").GetString()!);
        Assert.Equal(12, reported.Count);
        Assert.Equal(["seeds", "qlora", "optimizers", "adam-memory", "epochs", "targets", "rank-alpha", "lora-vs-full", "one-dataset", "combining", "layerwise-rank", "7b"], reported.Keys);

        var findings = json.RootElement.GetProperty("findings").EnumerateArray().ToDictionary(f => f.GetProperty("id").GetString()!);
        string Cell(string id, int row, int col) => findings[id].GetProperty("rows")[row][col].GetString()!;
        // the two numbers not in the CSVs: the QLoRA saving the demo's weights allow (estimate) and the 7B estimate
        double saving = double.Parse(Cell("qlora", 3, 1), CultureInfo.InvariantCulture), sevenB = double.Parse(Cell("7b", 0, 1), CultureInfo.InvariantCulture);
        Assert.Equal("predicted saving on this model (weights)", Cell("qlora", 3, 0));
        var expected = new Recompute(t, saving, sevenB).All();
        foreach (var (id, verdict) in expected) Assert.True(verdict == reported[id], $"{id}: report says {reported[id]}, the rule gives {verdict}");

        // each section of the markdown states its own verdict, and the tables print results.csv's numbers
        var md = File.ReadAllText(Path.Combine(dir, "tips-report.md"));
        var titles = json.RootElement.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("title").GetString()!).ToList();
        var sections = md.Split("\n## ").Skip(2).ToList(); // after the intro and the verdict table
        Assert.Equal(12, sections.Count);
        var ids = reported.Keys.ToList();
        for (int i = 0; i < 12; i++)
        {
            Assert.StartsWith($"{i + 1}. {titles[i]}", sections[i]);
            Assert.Contains($"**Verdict: {reported[ids[i]]}.**", sections[i]);
        }
        string F4(string run, string col) => t.Get(run, col).ToString("F4", CultureInfo.InvariantCulture);
        foreach (var seed in new[] { "baseline-seed1", "baseline-seed2", "baseline-seed3" })
            Assert.Contains($"| {seed} | {F4(seed, "final val loss")} | {F4(seed, "final train loss")} | {F4(seed, "count acc")} | {F4(seed, "first exact_match")} | {F4(seed, "repeat exact_match")} |", sections[0]);
        Assert.Contains($"| untrained base | {F4("base", "count acc")} | {F4("base", "first exact_match")} | {F4("base", "repeat exact_match")} |", sections[8]);
        Assert.Contains($"| combined-svd | {F4("combined-svd", "count acc")} | {F4("combined-svd", "first exact_match")} | {F4("combined-svd", "repeat exact_match")} |", sections[9]);
        Assert.Contains("data:image/png;base64,", File.ReadAllText(Path.Combine(dir, "tips-report.html")));

        // a second invocation resumes: no run trains, nothing is rescored or recombined, the verdicts are the same
        var scores = File.ReadAllText(Path.Combine(dir, "scores.csv"));
        var combined = Path.Combine(dir, "combined", "combined-cat", "adapter_model.safetensors");
        var stamp = File.GetLastWriteTimeUtc(combined);
        (code, stdout, err) = CliRunner.Run("sweep", "--preset", "lora-tips", "--quick", "--out", dir);
        Assert.True(code == 0, $"exit {code}\n{err}\n{stdout}");
        Assert.DoesNotContain(": done in ", stdout);
        Assert.Contains("skipped (already finished)", stdout);
        Assert.Equal(scores, File.ReadAllText(Path.Combine(dir, "scores.csv")));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(combined));
        using var again = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "tips.json")));
        Assert.Equal(reported, again.RootElement.GetProperty("findings").EnumerateArray()
            .ToDictionary(f => f.GetProperty("id").GetString()!, f => f.GetProperty("verdict").GetString()!));

        // the folder of a quick run is not the full preset's: refused rather than mixed
        (code, _, err) = CliRunner.Run("sweep", "--preset", "lora-tips", "--out", dir);
        Assert.Equal(2, code);
        Assert.Contains("holds a lora-tips sweep with other settings", err);
    }

    [Theory]
    [InlineData("unknown preset (the built-in ones are lora-tips and methods)", "--preset", "nope")]
    [InlineData("--quick applies to --preset", "--quick", "--config", "x.yaml")]
    [InlineData("--preset runs a built-in sweep: it takes only --out and --quick", "--preset", "lora-tips", "--config", "x.yaml")]
    [InlineData("--preset runs a built-in sweep: it takes only --out and --quick", "--preset", "lora-tips", "--shard", "0/2")]
    public void PresetMisuseIsOneLineAndExit2(string expected, params string[] args)
    {
        var (code, _, err) = CliRunner.Run(["sweep", .. args]);
        Assert.Equal(2, code);
        Assert.Contains(expected, err);
        Assert.Single(err.Trim().Split('\n'));
    }

    /// The report's rules, restated: a difference counts when it exceeds 2 × the seeds' sample standard deviation of
    /// that column, 2% of the value compared with and, for a task score, 1/n of n held-out examples.
    sealed class Recompute(Csv t, double qloraSaving, double sevenBGb)
    {
        static readonly string[] Seeds = ["baseline-seed1", "baseline-seed2", "baseline-seed3"];
        const string Val = "final val loss", Train = "final train loss", Mem = "peak memory (MB)", Tps = "tokens/s", Count = "count acc", First = "first exact_match", Repeat = "repeat exact_match";
        static readonly string[] Scores = [Count, First, Repeat];

        double Std(string col)
        {
            var xs = Seeds.Select(s => t.Get(s, col)).ToList();
            double m = xs.Average();
            return Math.Sqrt(xs.Sum(x => (x - m) * (x - m)) / (xs.Count - 1));
        }

        int Cmp(string col, string a, string b)
        {
            double x = t.Get(a, col), y = t.Get(b, col);
            double thr = Math.Max(Math.Max(2 * Std(col), 0.02 * Math.Abs(y)), Scores.Contains(col) ? 1.0 / TipsScale.Quick.HeldOutPerTask : 0) * (1 + 1e-9); // doubles' rounding does not count
            return x - y > thr ? 1 : y - x > thr ? -1 : 0;
        }

        static string V(bool reproduced, bool contradicted) => reproduced ? "reproduced" : contradicted ? "contradicted" : "inconclusive";

        public IEnumerable<(string Id, string Verdict)> All()
        {
            double valMean = Seeds.Average(s => t.Get(s, Val));
            double limit = Math.Max(0.05, 1.0 / TipsScale.Quick.HeldOutPerTask);
            yield return ("seeds", Std(Val) <= 0.05 * valMean && Scores.All(s => Std(s) <= limit) ? "reproduced" : "contradicted");

            // memory is judged only where the saving the weights allow exceeds the threshold
            double memThreshold = Math.Max(2 * Std(Mem), 0.02 * t.Get("baseline-seed1", Mem));
            int mem = qloraSaving < memThreshold ? 0 : Cmp(Mem, "qlora", "baseline-seed1"), tps = Cmp(Tps, "qlora", "baseline-seed1");
            yield return ("qlora", V(mem < 0 && tps < 0, mem > 0 || tps > 0));

            // quality findings need a baseline that lifted every task over the untrained base
            bool learnt = Scores.All(s => Cmp(s, "baseline-seed1", "base") > 0);
            string Q(string verdict) => learnt ? verdict : "inconclusive";

            string[] three = ["baseline-seed1", "adamw-constant", "sgd-cosine"];
            bool agree = Cmp(Val, three[0], three[1]) == 0 && Cmp(Val, three[0], three[2]) == 0 && Cmp(Val, three[1], three[2]) == 0;
            var best = three.MinBy(r => t.Get(r, Val))!;
            int sgd = Cmp(Val, "sgd-constant", best);
            yield return ("optimizers", Q(!agree || sgd < 0 ? "contradicted" : sgd > 0 ? "reproduced" : "inconclusive"));

            // reproduced when LoRA's difference does not count while full fine-tuning's does
            int lora = Cmp(Mem, "baseline-seed1", "sgd-cosine"), full = Cmp(Mem, "full-adamw", "full-sgd");
            yield return ("adam-memory", lora > 0 ? "contradicted" : lora == 0 && full > 0 ? "reproduced" : "inconclusive");

            string[] epochs = ["baseline-seed1", "epochs-2", "epochs-4"];
            var steps = epochs.Zip(epochs.Skip(1)).ToList();
            bool hurt = steps.Any(p => Cmp(Val, p.Second, p.First) > 0 && t.Get(p.Second, Train) < t.Get(p.First, Train));
            yield return ("epochs", Q(V(hurt, !hurt && steps.All(p => Cmp(Val, p.Second, p.First) < 0))));

            int kv = Cmp(Val, "baseline-seed1", "targets-kv"), qv = Cmp(Val, "baseline-seed1", "targets-qv");
            yield return ("targets", Q(V(kv < 0 && qv < 0, kv > 0 || qv > 0)));

            int held = 0, ranks = 0;
            foreach (var r in TipsScale.Quick.Ranks)
            {
                ranks++;
                string Name(double a) => r == 16 && a == 32 ? "baseline-seed1" : $"r{r}-alpha{a.ToString(CultureInfo.InvariantCulture)}";
                var bestAlpha = TipsScale.Quick.AlphaFactors.Select(f => Name(f * r)).MinBy(n => t.Get(n, Val))!;
                if (Cmp(Val, Name(2 * r), bestAlpha) == 0) held++;
            }
            yield return ("rank-alpha", Q(V(held == ranks, held == 0)));

            int quality = Cmp(Val, "baseline-seed1", "full-adamw"), memory = Cmp(Mem, "baseline-seed1", "full-adamw");
            yield return ("lora-vs-full", Q(quality > 0 ? "contradicted" : memory < 0 ? "reproduced" : "inconclusive"));

            int own = Cmp(Count, "count-only", "base");
            bool otherFlat = Cmp(First, "count-only", "base") <= 0 || Cmp(Repeat, "count-only", "base") <= 0;
            yield return ("one-dataset", own <= 0 ? "inconclusive" : otherFlat ? "reproduced" : "contradicted");

            bool specialists = Cmp(Count, "count-only", "base") > 0 && Cmp(First, "first-only", "base") > 0;
            bool kept = new[] { "combined-cat", "combined-svd", "combined-linear" }.Any(m => Cmp(Count, m, "count-only") >= 0 && Cmp(First, m, "first-only") >= 0);
            yield return ("combining", !specialists ? "inconclusive" : kept ? "reproduced" : "contradicted");

            int lw = Cmp(Val, "rank-pattern", "rank-uniform");
            yield return ("layerwise-rank", Q(V(lw < 0, lw > 0)));

            yield return ("7b", Math.Abs(sevenBGb - 14) <= 0.25 * 14 ? "reproduced" : "contradicted");
        }
    }

    sealed class Csv
    {
        public readonly Dictionary<string, Dictionary<string, string>> Rows = new();

        public static Csv Read(params string[] paths)
        {
            var c = new Csv();
            foreach (var path in paths)
            {
                var lines = File.ReadAllLines(path).Where(l => l.Length > 0).Select(SweepNumbers.SplitCsv).ToList();
                foreach (var cells in lines.Skip(1)) c.Rows[cells[0]] = lines[0].Zip(cells).ToDictionary(p => p.First, p => p.Second);
            }
            return c;
        }

        public double Get(string run, string col) => double.Parse(Rows[run][col], CultureInfo.InvariantCulture);
    }
}
