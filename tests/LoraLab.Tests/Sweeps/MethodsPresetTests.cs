using System.Globalization;
using System.Text.Json;
using LoraLab.Sweeps.Presets;
using Xunit;

namespace LoraLab.Tests.Sweeps;

/// `loralab sweep --preset methods --quick` end to end: methods.csv recomputed from each run's folder, and every
/// verdict of its report recomputed here from results.csv and methods.csv by the rules the report states, written out
/// again independently of MethodsFindings.
[Collection("cli")]
public class MethodsPresetTests
{
    static readonly string[] Runs = ["lora-seed1", "lora-seed2", "lora-seed3", "dora", "pissa", "loraplus", "relora", "galore", "full"];
    static readonly string[] Ids = ["dora", "pissa", "loraplus", "relora", "galore"];

    [Fact]
    public void QuickPresetJudgesEveryClaimByItsStatedRuleFromTheNumbersInItsCsvFiles()
    {
        var dir = Path.Combine(TempDir.New(), "methods");
        var (code, stdout, err) = CliRunner.Run("sweep", "--preset", "methods", "--quick", "--out", dir);
        Assert.True(code == 0, $"exit {code}\n{err}\n{stdout}");
        foreach (var f in new[] { "methods-report.md", "methods-report.html", "methods.json", "results.csv", "methods.csv", "sweep.yaml" })
            Assert.True(File.Exists(Path.Combine(dir, f)), $"{f} missing\n{stdout}");

        var t = Csv.Read(Path.Combine(dir, "results.csv"), Path.Combine(dir, "methods.csv"));
        Assert.Equal(Runs.Order(), t.Rows.Keys.Order());
        foreach (var run in Runs)
        {
            Assert.Equal("done", t.Rows[run]["status"]);
            Assert.Equal(60, t.Get(run, "steps")); // matched steps
            var (early, late) = QuarterMeans(Path.Combine(dir, "runs", run, "metrics.jsonl"));
            Assert.Equal(early, t.Get(run, "early train loss"), 4);
            Assert.Equal(late, t.Get(run, "late train loss"), 4);
            var checkpoint = Directory.GetDirectories(Path.Combine(dir, "runs", run, "checkpoints"), "step-*").Order().Last();
            Assert.Equal(new FileInfo(Path.Combine(checkpoint, "optimizer.bin")).Length / 1e6, t.Get(run, "optimizer.bin (MB)"), 3);
        }
        // full fine-tuning's AdamW: two fp32 moments per trained weight; GaLore's from the demo's shapes (below)
        Assert.Equal(2 * t.Get("full", "trainable params") * 4 / 1e6, t.Get("full", "optimizer state (MB)"), 3);
        var galoreRank = int.Parse(File.ReadLines(Path.Combine(dir, "runs", "galore", "run.yaml")).Single(l => l.StartsWith("galore_rank:"))[12..], CultureInfo.InvariantCulture);
        Assert.Equal(48, galoreRank); // hidden_size / 4
        Assert.Equal(GaloreStateBytes(galoreRank) / 1e6, t.Get("galore", "optimizer state (MB)"), 3);
        // ReLoRA's four merges of rank 16 each: above r, at most 4r
        Assert.InRange(t.Get("relora", "update rank min"), 17, 64);
        Assert.InRange(t.Get("relora", "update rank max"), t.Get("relora", "update rank min"), 64);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "methods.json")));
        var reported = json.RootElement.GetProperty("findings").EnumerateArray()
            .ToDictionary(f => f.GetProperty("id").GetString()!, f => f.GetProperty("verdict").GetString()!);
        Assert.Equal(Ids, reported.Keys);
        foreach (var (id, verdict) in new Recompute(t).All()) Assert.True(verdict == reported[id], $"{id}: report says {reported[id]}, the rule gives {verdict}");

        // the markdown: the noise floor and every run's numbers, then each finding stating its own verdict
        var md = File.ReadAllText(Path.Combine(dir, "methods-report.md"));
        var sections = md.Split("\n## ").Skip(1).ToList();
        Assert.Equal(["Noise floor", "All runs", "Verdicts"], sections.Take(3).Select(s => s.Split('\n')[0]));
        var titles = json.RootElement.GetProperty("findings").EnumerateArray().Select(f => f.GetProperty("title").GetString()!).ToList();
        for (int i = 0; i < Ids.Length; i++)
        {
            Assert.StartsWith($"{i + 1}. {titles[i]}", sections[3 + i]);
            Assert.Contains($"**Verdict: {reported[Ids[i]]}.**", sections[3 + i]);
            Assert.True(File.Exists(Path.Combine(dir, "methods-plots", Ids[i] + ".png")), $"plot of {Ids[i]}");
        }
        string F4(string run, string col) => t.Get(run, col).ToString("F4", CultureInfo.InvariantCulture);
        foreach (var run in Runs)
            Assert.Contains($"| {run} | {F4(run, "final val loss")} | {F4(run, "final train loss")} | {F4(run, "early train loss")} | {F4(run, "late train loss")} | " +
                $"{F4(run, "count acc")} | {F4(run, "first exact_match")} | {F4(run, "repeat exact_match")} |", sections[1]);
        Assert.Contains("data:image/png;base64,", File.ReadAllText(Path.Combine(dir, "methods-report.html")));

        // a second invocation resumes: no run trains, the numbers and verdicts are the same
        var measures = File.ReadAllText(Path.Combine(dir, "methods.csv"));
        (code, stdout, err) = CliRunner.Run("sweep", "--preset", "methods", "--quick", "--out", dir);
        Assert.True(code == 0, $"exit {code}\n{err}\n{stdout}");
        Assert.DoesNotContain(": done in ", stdout);
        Assert.Contains("skipped (already finished)", stdout);
        Assert.Equal(measures, File.ReadAllText(Path.Combine(dir, "methods.csv")));
        using var again = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "methods.json")));
        Assert.Equal(reported, again.RootElement.GetProperty("findings").EnumerateArray()
            .ToDictionary(f => f.GetProperty("id").GetString()!, f => f.GetProperty("verdict").GetString()!));

        // the folder of a quick run is not the full preset's: refused rather than mixed
        (code, _, err) = CliRunner.Run("sweep", "--preset", "methods", "--out", dir);
        Assert.Equal(2, code);
        Assert.Contains("holds a methods sweep with other settings", err);
    }

    [Fact]
    public void PresetMisuseIsOneLineAndExit2()
    {
        var (code, _, err) = CliRunner.Run("sweep", "--preset", "methods", "--quick", "--config", "x.yaml");
        Assert.Equal(2, code);
        Assert.Contains("--preset runs a built-in sweep: it takes only --out and --quick", err);
        Assert.Single(err.Trim().Split('\n'));
    }

    /// The mean train loss over steps 1..⌈S/4⌉ and over the last ⌈S/4⌉ steps, S the last step in metrics.jsonl.
    static (double Early, double Late) QuarterMeans(string metrics)
    {
        var rows = File.ReadLines(metrics).Select(l => JsonDocument.Parse(l).RootElement).Where(r => r.GetProperty("type").GetString() == "train")
            .Select(r => (Step: r.GetProperty("step").GetInt32(), Loss: r.GetProperty("loss").GetDouble())).ToList();
        int s = rows.Max(r => r.Step), q = (int)Math.Ceiling(s / 4.0);
        return (rows.Where(r => r.Step <= q).Average(r => r.Loss), rows.Where(r => r.Step > s - q).Average(r => r.Loss));
    }

    /// GaLore-AdamW's state for the demo model (assets/demo-base/config.json: hidden 192, intermediate 512, 4 layers,
    /// 6 heads and 2 key-value heads of 32, vocabulary 1115, tied embeddings), as galore-torch keeps it: per decoder
    /// projection W (out × in) Adam's two moments of the projected gradient, r × max(out, in) each, and the projection,
    /// r × min(out, in); the embedding and the norms keep AdamW's two moments per value. 4 bytes a value.
    static double GaloreStateBytes(int r)
    {
        (long Out, long In)[] projections = [(192, 192), (64, 192), (64, 192), (192, 192), (512, 192), (512, 192), (192, 512)];
        long projected = 4 * projections.Sum(p => 2L * r * Math.Max(p.Out, p.In) + (long)r * Math.Min(p.Out, p.In));
        long plain = 1115L * 192 + 4 * 2 * 192 + 192; // embedding, two norms per layer, the final norm
        return 4.0 * (projected + 2 * plain);
    }

    /// The report's rules, restated: a difference counts when it exceeds 2 × LoRA's seeds' sample standard deviation
    /// of that column, 2% of the value compared with and, for a task score, 1/16 (16 held-out examples a task).
    sealed class Recompute(Csv t)
    {
        static readonly string[] Seeds = ["lora-seed1", "lora-seed2", "lora-seed3"];
        const string Val = "final val loss", Early = "early train loss", Opt = "optimizer state (MB)";
        static readonly string[] Scores = ["count acc", "first exact_match", "repeat exact_match"];

        double Std(string col)
        {
            if (col == Opt) return 0; // LoRA has no such number: the 2% floor alone
            var xs = Seeds.Select(s => t.Get(s, col)).ToList();
            double m = xs.Average();
            return Math.Sqrt(xs.Sum(x => (x - m) * (x - m)) / (xs.Count - 1));
        }

        int Cmp(string col, string a, string b)
        {
            double x = t.Get(a, col), y = t.Get(b, col);
            double thr = Math.Max(Math.Max(2 * Std(col), 0.02 * Math.Abs(y)), Scores.Contains(col) ? 1.0 / 16 : 0) * (1 + 1e-9); // doubles' rounding does not count
            return x - y > thr ? 1 : y - x > thr ? -1 : 0;
        }

        public IEnumerable<(string Id, string Verdict)> All()
        {
            const string l = "lora-seed1";
            // DoRA: better somewhere, worse nowhere (lower loss, higher scores)
            var better = new[] { -Cmp(Val, "dora", l) }.Concat(Scores.Select(s => Cmp(s, "dora", l))).ToList();
            yield return ("dora", better.Any(b => b > 0) && better.All(b => b >= 0) ? "reproduced" : better.Any(b => b < 0) && better.All(b => b <= 0) ? "contradicted" : "inconclusive");

            // convergence: a lower early train loss that does not end with a higher val loss
            foreach (var run in new[] { "pissa", "loraplus" })
            {
                int e = Cmp(Early, run, l), v = Cmp(Val, run, l);
                yield return (run, e > 0 || v > 0 ? "contradicted" : e < 0 ? "reproduced" : "inconclusive");
            }

            // ReLoRA: rank above 16 everywhere; where full fine-tuning's val loss is below LoRA's, ReLoRA's must move down too
            int gap = Cmp(Val, "full", l), moved = Cmp(Val, "relora", l);
            yield return ("relora", t.Get("relora", "update rank min") <= 16 ? "contradicted" : gap >= 0 ? "inconclusive"
                : moved > 0 ? "contradicted" : moved < 0 ? "reproduced" : "inconclusive");

            // GaLore: less state, and full fine-tuning's val loss where the floor can tell LoRA's from it
            int memory = Cmp(Opt, "galore", "full"), quality = Cmp(Val, "galore", "full");
            bool resolves = Cmp(Val, l, "full") != 0;
            yield return ("galore", memory >= 0 || quality > 0 ? "contradicted" : quality < 0 || resolves ? "reproduced" : "inconclusive");
        }
    }

    /// results.csv and methods.csv, a run's cells of both in one row.
    sealed class Csv
    {
        public readonly Dictionary<string, Dictionary<string, string>> Rows = new();

        public static Csv Read(params string[] paths)
        {
            var c = new Csv();
            foreach (var path in paths)
            {
                var lines = File.ReadAllLines(path).Where(l => l.Length > 0).Select(SweepNumbers.SplitCsv).ToList();
                foreach (var cells in lines.Skip(1))
                {
                    if (!c.Rows.TryGetValue(cells[0], out var row)) c.Rows[cells[0]] = row = [];
                    foreach (var (k, v) in lines[0].Zip(cells)) row[k] = v;
                }
            }
            return c;
        }

        public double Get(string run, string col) => double.Parse(Rows[run][col], CultureInfo.InvariantCulture);
    }
}
