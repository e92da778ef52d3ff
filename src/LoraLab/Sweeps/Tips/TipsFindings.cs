using LoraLab.Sweeps.Presets;
using static LoraLab.Sweeps.Presets.SweepNumbers;
using static LoraLab.Sweeps.Tips.TipsNumbers;

namespace LoraLab.Sweeps.Tips;

/// Judges each finding from the preset's numbers by the rule stated beside it. Every verdict is computed here from
/// results.csv / scores.csv (SweepNumbers, TipsNumbers) and the plan facts (SevenBFacts); none is written by hand.
public sealed class TipsFindings(SweepNumbers numbers, TipsScale scale, SevenBFacts facts) : FindingJudge(numbers)
{
    /// Finding 1 sets the noise floor from the baseline's seeds.
    protected override string SeedsName => "the baseline's seeds";
    protected override (string Title, string Claim) ClaimOf(string id) => Claims.Of(id);
    protected override string RuleOf(string id) => Rules.Of(id);

    public IReadOnlyList<Finding> All()
    {
        var seeds = Safe("seeds", Seeds);
        return [seeds, Safe("qlora", Qlora), Safe("optimizers", Optimizers), Safe("adam-memory", AdamMemory), Safe("epochs", Epochs),
            Safe("targets", Targets), Safe("rank-alpha", RankAlpha), Safe("lora-vs-full", LoraVsFull), Safe("one-dataset", OneDataset),
            Safe("combining", Combining), Safe("layerwise-rank", Layerwise), SevenB()];
    }

    /// The noise floor: the sample standard deviation of every numeric column over the baseline's seeds.
    public static NoiseRule Noise(SweepNumbers n, TipsScale scale)
    {
        var std = new Dictionary<string, double>();
        foreach (var col in (string[])[TrainLoss, ValLoss, PeakMemory, TokensPerSecond, .. Scores])
            std[col] = Std([.. TipsRuns.Seeds.Select(s => n.Need(s, col))]);
        return new NoiseRule(std, Scores.ToDictionary(s => s, _ => Resolution(scale)));
    }

    /// The quality findings compare trained models: when the baseline did not lift every task over the untrained base
    /// by a difference that counts, the scale was too small to learn them and those findings are not judged.
    void RequireLearnt()
    {
        var flat = Scores.Where(s => Floor.Compare(s, N.Need(TipsRuns.Baseline, s), N.Need(BaseModel, s)) <= 0).ToList();
        if (flat.Count > 0)
            throw new MissingNumberException($"the baseline did not learn the tasks at this scale ({string.Join(", ", flat.Select(s => Diff(s, TipsRuns.Baseline, BaseModel, "F4")))})");
    }

    /// One held-out example's share of a task score: the smallest step a score can take.
    public static double Resolution(TipsScale scale) => 1.0 / scale.HeldOutPerTask;

    static string Loss(double v) => F(v, "F4");
    static string Score(double v) => F(v, "F4");
    static string Mb(double v) => F(v, "F0");

    /// Columns shown for a run's quality: validation and train loss, and each task score.
    static readonly string[] QualityHeader = ["run", "final val loss", "final train loss", .. Scores];
    IReadOnlyList<string> QualityRow(string run, string? label = null) =>
        [label ?? run, Loss(N.Need(run, ValLoss)), Loss(N.Need(run, TrainLoss)), .. Scores.Select(s => Score(N.Need(run, s)))];

    // 1 ------------------------------------------------------------------------------------------------------------
    Finding Seeds()
    {
        var rows = TipsRuns.Seeds.Select(s => (IReadOnlyList<string>)[.. QualityRow(s), Mb(N.Need(s, PeakMemory)), F(N.Need(s, TokensPerSecond), "F0")]).ToList();
        var cols = (string[])[ValLoss, TrainLoss, .. Scores, PeakMemory, TokensPerSecond];
        string[] Format = ["F4", "F4", .. Scores.Select(_ => "F4"), "F0", "F0"];
        var stats = cols.Select(c => TipsRuns.Seeds.Select(s => N.Need(s, c)).ToList()).ToList();
        rows.Add(["mean ± std", .. stats.Select((xs, i) => $"{F(xs.Average(), Format[i])} ± {F(Std(xs), Format[i])}")]);
        double valMean = stats[0].Average(), valStd = Std(stats[0]);
        var scoreStds = Scores.Select((s, i) => (s, Std: Std(stats[2 + i]))).ToList();
        double limit = Math.Max(0.05, Resolution(scale));
        bool lossOk = valStd <= 0.05 * valMean, scoresOk = scoreStds.All(x => x.Std <= limit);
        var why = $"val loss std {F(valStd, "F4")} is {F(100 * valStd / valMean, "F1")}% of its mean (limit 5%); " +
                  string.Join(", ", scoreStds.Select(x => $"{x.s} std {F(x.Std, "F4")}")) + $" (limit {F(limit, "F4")})";
        Floor = Noise(N, scale);
        var (title, claim) = Claims.Of("seeds");
        return new Finding("seeds", title, claim,
            Rules.Of("seeds"),
            [.. QualityHeader, "peak memory (MB)", "tokens/s"], rows, lossOk && scoresOk ? Verdict.Reproduced : Verdict.Contradicted, why, TipsRuns.Seeds);
    }

    // 2 ------------------------------------------------------------------------------------------------------------
    Finding Qlora()
    {
        string l = TipsRuns.Baseline, q = TipsRuns.Qlora;
        double memRatio = N.Need(q, PeakMemory) / N.Need(l, PeakMemory), timeRatio = N.Need(l, TokensPerSecond) / N.Need(q, TokensPerSecond);
        // what 4-bit weights can save on this model at most, in the MB (10^6 bytes) that peak memory is logged in; below
        // the threshold the memory half is not judged
        double saving = facts.DemoQloraSavingBytes / 1e6, threshold = Floor.Threshold(PeakMemory, N.Need(l, PeakMemory));
        int mem = saving < threshold ? 0 : Floor.Compare(PeakMemory, N.Need(q, PeakMemory), N.Need(l, PeakMemory));
        int speed = Floor.Compare(TokensPerSecond, N.Need(q, TokensPerSecond), N.Need(l, TokensPerSecond));
        var verdict = mem < 0 && speed < 0 ? Verdict.Reproduced : mem > 0 || speed > 0 ? Verdict.Contradicted : Verdict.Inconclusive;
        IReadOnlyList<string> Row(string run, string label) => [label, Mb(N.Need(run, PeakMemory)), F(N.Need(run, TokensPerSecond), "F0"), Loss(N.Need(run, ValLoss))];
        List<IReadOnlyList<string>> rows =
        [
            Row(l, "LoRA (baseline-seed1)"), Row(q, "QLoRA (nf4)"),
            ["QLoRA / LoRA", F(memRatio, "F2") + " (reported: 0.67)", $"time per step × {F(timeRatio, "F2")} (reported: × 1.39)", Signed(N.Need(q, ValLoss) - N.Need(l, ValLoss), "F4")],
            ["predicted saving on this model (weights)", F(saving, "F1"), "-", "-"],
            ["estimate for Llama-2-7B, r 8 (not measured)", $"{F((double)facts.QloraR8Bytes / facts.LoraR8Bytes, "F2")} ({F(facts.QloraR8Bytes / 1e9, "F1")} vs {F(facts.LoraR8Bytes / 1e9, "F1")} GB)", "-", "-"],
        ];
        var (title, claim) = Claims.Of("qlora");
        return new Finding("qlora", title, claim,
            Rules.Of("qlora"),
            ["run", "peak memory (MB)", "tokens/s", "final val loss"], rows, verdict,
            $"memory: {Diff(PeakMemory, q, l, "F0")}" + (saving < threshold ? $" (not judged: the predicted saving, {F(saving, "F1")} MB, is below the threshold)" : "") +
            $"; throughput: {Diff(TokensPerSecond, q, l, "F0")}", [l, q]);
    }

    // 3 ------------------------------------------------------------------------------------------------------------
    Finding Optimizers()
    {
        RequireLearnt();
        string[] good = [TipsRuns.Baseline, TipsRuns.AdamwConstant, TipsRuns.SgdCosine];
        string plain = TipsRuns.SgdConstant;
        var vals = good.ToDictionary(r => r, r => N.Need(r, ValLoss));
        var pairs = good.SelectMany((a, i) => good.Skip(i + 1).Select(b => (a, b, c: Floor.Compare(ValLoss, vals[a], vals[b])))).ToList();
        var best = good.MinBy(r => vals[r])!;
        int sgd = Floor.Compare(ValLoss, N.Need(plain, ValLoss), vals[best]);
        bool agree = pairs.All(p => p.c == 0);
        var verdict = !agree || sgd < 0 ? Verdict.Contradicted : sgd > 0 ? Verdict.Reproduced : Verdict.Inconclusive;
        var why = string.Join("; ", pairs.Select(p => Diff(ValLoss, p.a, p.b, "F4"))) + $"; plain SGD: {Diff(ValLoss, plain, best, "F4")}";
        (string Key, string Value)[] labels = [(TipsRuns.Baseline, "AdamW + cosine (baseline-seed1)"), (TipsRuns.AdamwConstant, "AdamW, constant lr"),
            (TipsRuns.SgdCosine, "SGD + cosine"), (plain, "SGD, constant lr")];
        var (title, claim) = Claims.Of("optimizers");
        return new Finding("optimizers", title, claim,
            Rules.Of("optimizers"),
            QualityHeader, [.. labels.Select(kv => QualityRow(kv.Key, kv.Value))], verdict, why, [.. labels.Select(kv => kv.Key)]);
    }

    // 4 ------------------------------------------------------------------------------------------------------------
    Finding AdamMemory()
    {
        (string Adam, string Sgd, string Label)[] pairs = [(TipsRuns.Baseline, TipsRuns.SgdCosine, "LoRA"), (TipsRuns.FullAdamw, TipsRuns.FullSgd, "full fine-tuning")];
        var rows = pairs.Select(p =>
        {
            double trainable = N.Need(p.Adam, Trainable), diff = N.Need(p.Adam, PeakMemory) - N.Need(p.Sgd, PeakMemory);
            // Adam keeps two fp32 moments per trainable value, SGD with momentum one: one extra value of 4 bytes each
            return (IReadOnlyList<string>)[p.Label, F(trainable, "N0"), Mb(N.Need(p.Adam, PeakMemory)), Mb(N.Need(p.Sgd, PeakMemory)),
                Signed(diff, "F0"), F(4 * trainable / 1e6, "F1")];
        }).ToList();
        int lora = Floor.Compare(PeakMemory, N.Need(TipsRuns.Baseline, PeakMemory), N.Need(TipsRuns.SgdCosine, PeakMemory));
        int full = Floor.Compare(PeakMemory, N.Need(TipsRuns.FullAdamw, PeakMemory), N.Need(TipsRuns.FullSgd, PeakMemory));
        var verdict = lora > 0 ? Verdict.Contradicted : lora == 0 && full > 0 ? Verdict.Reproduced : Verdict.Inconclusive;
        var (title, claim) = Claims.Of("adam-memory");
        return new Finding("adam-memory", title, claim,
            Rules.Of("adam-memory"),
            ["method", "trainable params", "AdamW peak (MB)", "SGD peak (MB)", "difference (MB)", "predicted (MB)"], rows,
            verdict, $"LoRA: {Diff(PeakMemory, TipsRuns.Baseline, TipsRuns.SgdCosine, "F0")}; full fine-tuning: {Diff(PeakMemory, TipsRuns.FullAdamw, TipsRuns.FullSgd, "F0")}",
            [TipsRuns.Baseline, TipsRuns.SgdCosine, TipsRuns.FullAdamw, TipsRuns.FullSgd]);
    }

    // 5 ------------------------------------------------------------------------------------------------------------
    Finding Epochs()
    {
        RequireLearnt();
        var runs = TipsScale.Epochs.Select(e => (Epochs: e, Run: TipsRuns.Epochs(e))).ToList();
        var rows = runs.Select(r => QualityRow(r.Run, $"{r.Epochs} epoch{(r.Epochs == 1 ? "" : "s")} ({r.Run})")).ToList();
        var steps = runs.Zip(runs.Skip(1), (a, b) => (a, b, c: Floor.Compare(ValLoss, N.Need(b.Run, ValLoss), N.Need(a.Run, ValLoss)))).ToList();
        // overfitting: a later run's val loss is worse by a difference that counts while its train loss went down
        var hurt = steps.Where(s => s.c > 0 && N.Need(s.b.Run, TrainLoss) < N.Need(s.a.Run, TrainLoss)).ToList();
        var verdict = hurt.Count > 0 ? Verdict.Reproduced : steps.All(s => s.c < 0) ? Verdict.Contradicted : Verdict.Inconclusive;
        var (title, claim) = Claims.Of("epochs");
        return new Finding("epochs", title, claim,
            Rules.Of("epochs"),
            QualityHeader, rows, verdict, string.Join("; ", steps.Select(s => Diff(ValLoss, s.b.Run, s.a.Run, "F4"))), [.. runs.Select(r => r.Run)]);
    }

    // 6 ------------------------------------------------------------------------------------------------------------
    Finding Targets()
    {
        RequireLearnt();
        (string Run, string Label, long SevenB)[] runs = [(TipsRuns.TargetsKv, "k, v", facts.TrainableKv), (TipsRuns.TargetsQv, "q, v", facts.TrainableQv), (TipsRuns.Baseline, "all linear (baseline-seed1)", facts.TrainableAll)];
        var rows = runs.Select(r => (IReadOnlyList<string>)[.. QualityRow(r.Run, r.Label), F(N.Need(r.Run, Trainable), "N0"), F(r.SevenB, "N0")]).ToList();
        var vs = runs.Take(2).Select(r => Floor.Compare(ValLoss, N.Need(TipsRuns.Baseline, ValLoss), N.Need(r.Run, ValLoss))).ToList();
        var verdict = vs.All(c => c < 0) ? Verdict.Reproduced : vs.Any(c => c > 0) ? Verdict.Contradicted : Verdict.Inconclusive;
        var (title, claim) = Claims.Of("targets");
        return new Finding("targets", title, claim,
            Rules.Of("targets"),
            [.. QualityHeader, "trainable params", "Llama-2-7B r 8"], rows, verdict,
            string.Join("; ", runs.Take(2).Select(r => Diff(ValLoss, TipsRuns.Baseline, r.Run, "F4"))), [.. runs.Select(r => r.Run)]);
    }

    // 7 ------------------------------------------------------------------------------------------------------------
    Finding RankAlpha()
    {
        RequireLearnt();
        var rows = new List<IReadOnlyList<string>>();
        var per = new List<(int R, string Best, int TwoR)>();
        foreach (var r in scale.Ranks)
        {
            var cells = scale.AlphaFactors.Select(f => (Alpha: f * r, Run: TipsRuns.RankAlpha(r, f * r))).ToList();
            rows.Add([$"r {r}", .. cells.Select(c => Loss(N.Need(c.Run, ValLoss)))]);
            var best = cells.MinBy(c => N.Need(c.Run, ValLoss));
            var two = TipsRuns.RankAlpha(r, 2 * r);
            per.Add((r, best.Run, Floor.Compare(ValLoss, N.Need(two, ValLoss), N.Need(best.Run, ValLoss))));
        }
        int held = per.Count(p => p.TwoR == 0);
        var verdict = held == per.Count ? Verdict.Reproduced : held == 0 ? Verdict.Contradicted : Verdict.Inconclusive;
        var why = string.Join("; ", per.Select(p => $"r {p.R}: best {p.Best}, " + (p.Best == TipsRuns.RankAlpha(p.R, 2 * p.R) ? "alpha 2r is the best" : Diff(ValLoss, TipsRuns.RankAlpha(p.R, 2 * p.R), p.Best, "F4"))));
        var (title, claim) = Claims.Of("rank-alpha");
        return new Finding("rank-alpha", title, claim,
            Rules.Of("rank-alpha"),
            ["rank", .. scale.AlphaFactors.Select(f => f == 1 ? "alpha r" : f == 0.5 ? "alpha r/2" : $"alpha {F(f, "0.##")}r")], rows, verdict, why,
            [.. scale.Ranks.SelectMany(r => scale.AlphaFactors.Select(f => TipsRuns.RankAlpha(r, f * r)))]);
    }

    // 8 ------------------------------------------------------------------------------------------------------------
    Finding LoraVsFull()
    {
        RequireLearnt();
        string l = TipsRuns.Baseline, f = TipsRuns.FullAdamw;
        int quality = Floor.Compare(ValLoss, N.Need(l, ValLoss), N.Need(f, ValLoss));
        int memory = Floor.Compare(PeakMemory, N.Need(l, PeakMemory), N.Need(f, PeakMemory));
        var verdict = quality > 0 ? Verdict.Contradicted : memory < 0 ? Verdict.Reproduced : Verdict.Inconclusive;
        IReadOnlyList<string> Row(string run, string label) => [.. QualityRow(run, label), F(N.Need(run, Trainable), "N0"), Mb(N.Need(run, PeakMemory)), F(N.Need(run, TokensPerSecond), "F0")];
        var (title, claim) = Claims.Of("lora-vs-full");
        return new Finding("lora-vs-full", title, claim,
            Rules.Of("lora-vs-full"),
            [.. QualityHeader, "trainable params", "peak memory (MB)", "tokens/s"], [Row(l, "LoRA (baseline-seed1)"), Row(f, "full fine-tuning (AdamW)")], verdict,
            $"quality: {Diff(ValLoss, l, f, "F4")}; memory: {Diff(PeakMemory, l, f, "F0")}", [l, f]);
    }

    // 9 ------------------------------------------------------------------------------------------------------------
    Finding OneDataset()
    {
        string trained = TipsRuns.CountOnly;
        List<IReadOnlyList<string>> rows =
        [
            ["untrained base", .. Scores.Select(s => Score(N.Need(BaseModel, s)))],
            ["trained on counting only", .. Scores.Select(s => Score(N.Need(trained, s)))],
        ];
        int own = Floor.Compare(CountAcc, N.Need(trained, CountAcc), N.Need(BaseModel, CountAcc));
        var others = Scores.Where(s => s != CountAcc).Select(s => (s, c: Floor.Compare(s, N.Need(trained, s), N.Need(BaseModel, s)))).ToList();
        var verdict = own <= 0 ? Verdict.Inconclusive : others.Any(o => o.c <= 0) ? Verdict.Reproduced : Verdict.Contradicted;
        var why = $"{CountAcc}: {Diff(CountAcc, trained, BaseModel, "F4")}; " + string.Join("; ", others.Select(o => $"{o.s}: {Diff(o.s, trained, BaseModel, "F4")}"));
        var (title, claim) = Claims.Of("one-dataset");
        return new Finding("one-dataset", title, claim,
            Rules.Of("one-dataset"),
            ["model", .. Scores], rows, verdict, why, [trained]);
    }

    // 10 -----------------------------------------------------------------------------------------------------------
    Finding Combining()
    {
        (string Run, string Score)[] specialists = [(TipsRuns.CountOnly, CountAcc), (TipsRuns.FirstOnly, FirstExact)];
        var rows = new List<IReadOnlyList<string>> { (IReadOnlyList<string>)["untrained base", .. Scores.Select(s => Score(N.Need(BaseModel, s)))] };
        rows.AddRange(specialists.Select(p => (IReadOnlyList<string>)[p.Run, .. Scores.Select(s => Score(N.Need(p.Run, s)))]));
        var unlearnt = specialists.Where(p => Floor.Compare(p.Score, N.Need(p.Run, p.Score), N.Need(BaseModel, p.Score)) <= 0).ToList();
        bool learnt = unlearnt.Count == 0;
        var kept = new List<string>();
        var why = new List<string>();
        foreach (var m in TipsCombine.Methods)
        {
            var run = TipsCombine.Name(m);
            rows.Add([run, .. Scores.Select(s => Score(N.Need(run, s)))]);
            bool keeps = specialists.All(p => Floor.Compare(p.Score, N.Need(run, p.Score), N.Need(p.Run, p.Score)) >= 0);
            if (keeps) kept.Add(run);
            why.Add($"{run}: " + string.Join(", ", specialists.Select(p => Diff(p.Score, run, p.Run, "F4"))));
        }
        var verdict = !learnt ? Verdict.Inconclusive : kept.Count > 0 ? Verdict.Reproduced : Verdict.Contradicted;
        var (title, claim) = Claims.Of("combining");
        return new Finding("combining", title, claim,
            Rules.Of("combining"),
            ["model", .. Scores], rows, verdict, (learnt ? "" : string.Join("; ", unlearnt.Select(p => $"{p.Run} did not learn its task: {Diff(p.Score, p.Run, BaseModel, "F4")}")) + "; ") + string.Join("; ", why),
            [TipsRuns.CountOnly, TipsRuns.FirstOnly]);
    }

    // 11 -----------------------------------------------------------------------------------------------------------
    Finding Layerwise()
    {
        RequireLearnt();
        string p = TipsRuns.RankPattern, u = TipsRuns.RankUniform;
        if (!N.Finished(TipsRuns.Baseline)) throw new MissingNumberException($"not run: {TipsRuns.Baseline}, whose adapter is analysed, did not finish");
        int c = Floor.Compare(ValLoss, N.Need(p, ValLoss), N.Need(u, ValLoss));
        IReadOnlyList<string> Row(string run, string label) => [.. QualityRow(run, label), F(N.Need(run, Trainable), "N0")];
        var (title, claim) = Claims.Of("layerwise-rank");
        return new Finding("layerwise-rank", title, claim,
            Rules.Of("layerwise-rank"),
            [.. QualityHeader, "trainable params"], [Row(p, "suggested rank pattern"), Row(u, "uniform rank")],
            c < 0 ? Verdict.Reproduced : c > 0 ? Verdict.Contradicted : Verdict.Inconclusive, Diff(ValLoss, p, u, "F4"), [p, u]);
    }

    // 12 -----------------------------------------------------------------------------------------------------------
    Finding SevenB()
    {
        double reported = 14.0, gb = facts.QloraR256Bytes / 1e9;
        bool near = Math.Abs(gb - reported) <= 0.25 * reported;
        var (title, claim) = Claims.Of("7b");
        return new Finding("7b", title, claim,
            Rules.Of("7b"),
            ["setting", "estimated peak (GB)", "reported (GB)"],
            [[SevenBFacts.Command("qlora", 256), F(gb, "F1"), F(reported, "F1")], [SevenBFacts.Command("qlora", 8), F(facts.QloraR8Bytes / 1e9, "F1"), "-"]],
            near ? Verdict.Reproduced : Verdict.Contradicted,
            $"estimate for QLoRA r 256 {F(gb, "F1")} GB against the reported {F(reported, "F1")} GB: {F(100 * (gb - reported) / reported, "+0.0;-0.0")}% (limit ±25%)", [], Measured: false);
    }
}
