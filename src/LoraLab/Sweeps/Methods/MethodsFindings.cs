using LoraLab.Sweeps.Presets;
using static LoraLab.Sweeps.Methods.MethodsMeasures;
using static LoraLab.Sweeps.Presets.SweepNumbers;

namespace LoraLab.Sweeps.Methods;

/// Judges each paper's claim from the preset's numbers by the rule stated beside it (MethodRules). Every verdict is
/// computed here from results.csv and methods.csv (SweepNumbers); none is written by hand.
public sealed class MethodsFindings : FindingJudge
{
    readonly MethodsScale _scale;

    public MethodsFindings(SweepNumbers numbers, MethodsScale scale) : base(numbers)
    {
        _scale = scale;
        try { Floor = Noise(numbers, scale); }
        catch (MissingNumberException) { } // every comparison then says there is no noise floor
    }

    protected override string SeedsName => "LoRA's seeds";
    protected override (string Title, string Claim) ClaimOf(string id) => MethodClaims.Of(id);
    protected override string RuleOf(string id) => MethodRules.Of(id);

    /// The runs' numbers the rule applies to; their spread over LoRA's seeds is the noise floor.
    static readonly string[] Judged = [ValLoss, TrainLoss, EarlyTrainLoss, LateTrainLoss, .. Scores, PeakMemory, TokensPerSecond];

    public static string NoiseText => NoiseRule.TextFor("LoRA's three seeds (lora-seed1 to lora-seed3, the table 'Noise floor')");

    /// The noise floor: the sample standard deviation of every judged number over LoRA's seeds.
    public static NoiseRule Noise(SweepNumbers n, MethodsScale scale) =>
        new(Judged.ToDictionary(c => c, c => Std([.. MethodsRuns.Seeds.Select(s => n.Need(s, c))])), Scores.ToDictionary(s => s, _ => Resolution(scale)));

    /// One held-out example's share of a task score: the smallest step a score can take.
    public static double Resolution(MethodsScale scale) => 1.0 / scale.HeldOutPerTask;

    public IReadOnlyList<Finding> All() =>
        [Safe("dora", Dora), Safe("pissa", () => Convergence("pissa", MethodsRuns.Pissa)), Safe("loraplus", () => Convergence("loraplus", MethodsRuns.LoraPlus)),
         Safe("relora", Relora), Safe("galore", Galore)];

    static string Loss(double v) => F(v, "F4");
    static string Mb(double v) => F(v, "F3");

    /// Each run's numbers as the tables show them: losses, scores, trainable parameters, memory, time.
    static readonly string[] RunHeader = ["run", "final val loss", "final train loss", "early train loss", "late train loss", .. Scores, "trainable params", "peak memory (MB)", "wall time (s)"];
    IReadOnlyList<string> RunRow(string run, string? label = null) =>
        [label ?? run, Loss(N.Need(run, ValLoss)), Loss(N.Need(run, TrainLoss)), Loss(N.Need(run, EarlyTrainLoss)), Loss(N.Need(run, LateTrainLoss)),
         .. Scores.Select(s => F(N.Need(run, s), "F4")), F(N.Need(run, Trainable), "N0"), F(N.Need(run, PeakMemory), "F0"), F(N.Need(run, WallSeconds), "F1")];

    /// The report's tables before the verdicts: LoRA's seeds with their mean and spread, and every run.
    public IReadOnlyList<ReportSection> Sections()
    {
        var sections = new List<ReportSection>();
        try
        {
            var rows = MethodsRuns.Seeds.Select(s => RunRow(s)).ToList();
            var cols = (string[])[ValLoss, TrainLoss, EarlyTrainLoss, LateTrainLoss, .. Scores];
            rows.Add(["mean ± std", .. cols.Select(c => MethodsRuns.Seeds.Select(s => N.Need(s, c)).ToList()).Select(xs => $"{F(xs.Average(), "F4")} ± {F(Std(xs), "F4")}"), "", "", ""]);
            rows.Add(["threshold at lora-seed1", .. cols.Select(c => F(Floor.Threshold(c, N.Need(MethodsRuns.Lora, c)), "F4")), "", "", ""]);
            sections.Add(new("noise-floor", "Noise floor", "LoRA with three seeds (every other run uses seed 1). A difference from lora-seed1 counts only beyond the threshold in the last row.", RunHeader, rows));
        }
        catch (MissingNumberException e)
        {
            sections.Add(new("noise-floor", "Noise floor", $"Not measured: {e.Message}.", ["missing"], []));
        }
        var done = MethodsRuns.All.Where(N.Finished).ToList();
        sections.Add(new("runs", "All runs", $"Every run: {_scale.Steps} steps of batch {_scale.BatchSize}. Early and late train loss are the mean train loss over the first and the last " +
            $"{_scale.Quarter} steps (methods.csv); the rest is results.csv." + (done.Count < MethodsRuns.All.Count ? $" Not finished: {string.Join(", ", MethodsRuns.All.Except(done))}." : ""),
            RunHeader, [.. done.Select(r => RunRow(r))]));
        return sections;
    }

    /// The row under a comparison's table: the threshold each column's difference must exceed.
    IReadOnlyList<string> ThresholdRow(string reference, IReadOnlyList<string> columns) =>
        [$"threshold (vs {reference})", .. columns.Select(c => F(Floor.Threshold(c, N.Need(reference, c)), c == Trainable ? "N0" : "F4"))];

    // 1 ------------------------------------------------------------------------------------------------------------
    Finding Dora()
    {
        string l = MethodsRuns.Lora, d = MethodsRuns.Dora;
        // +1 where DoRA is better by a difference that counts: lower loss, higher scores
        var cmp = new List<(string Column, int Better)> { (ValLoss, -Floor.Compare(ValLoss, N.Need(d, ValLoss), N.Need(l, ValLoss))) };
        cmp.AddRange(Scores.Select(s => (s, Floor.Compare(s, N.Need(d, s), N.Need(l, s)))));
        int better = cmp.Count(c => c.Better > 0), worse = cmp.Count(c => c.Better < 0);
        var verdict = better > 0 && worse == 0 ? Verdict.Reproduced : worse > 0 && better == 0 ? Verdict.Contradicted : Verdict.Inconclusive;
        string[] cols = [ValLoss, .. Scores];
        IReadOnlyList<string> Row(string run, string label) => [label, .. cols.Select(c => F(N.Need(run, c), "F4")), F(N.Need(run, Trainable), "N0")];
        var (title, claim) = MethodClaims.Of("dora");
        return new Finding("dora", title, claim, MethodRules.Of("dora"), ["run", .. cols, "trainable params"],
            [Row(l, "LoRA (lora-seed1)"), Row(d, "DoRA"), [.. ThresholdRow(l, cols), ""]], verdict,
            $"better on {better}, worse on {worse} of 4: " + string.Join("; ", cols.Select(c => $"{c}: {Diff(c, d, l, "F4")}")), [l, d]);
    }

    // 2, 3 ---------------------------------------------------------------------------------------------------------
    Finding Convergence(string id, string run)
    {
        string l = MethodsRuns.Lora;
        int early = Floor.Compare(EarlyTrainLoss, N.Need(run, EarlyTrainLoss), N.Need(l, EarlyTrainLoss));
        int final = Floor.Compare(ValLoss, N.Need(run, ValLoss), N.Need(l, ValLoss));
        var verdict = early > 0 || final > 0 ? Verdict.Contradicted : early < 0 ? Verdict.Reproduced : Verdict.Inconclusive;
        string[] cols = [EarlyTrainLoss, LateTrainLoss, ValLoss, TrainLoss];
        IReadOnlyList<string> Row(string r, string label) => [label, .. cols.Select(c => Loss(N.Need(r, c))), F(N.Need(r, Trainable), "N0")];
        var (title, claim) = MethodClaims.Of(id);
        return new Finding(id, title, claim, MethodRules.Of(id), ["run", .. cols, "trainable params"],
            [Row(l, "LoRA (lora-seed1)"), Row(run, title.Split(' ')[0]), [.. ThresholdRow(l, cols), ""]], verdict,
            $"{Summary(early, final)}: early train loss (steps 1–{_scale.Quarter}): {Diff(EarlyTrainLoss, run, l, "F4")}; final val loss: {Diff(ValLoss, run, l, "F4")}", [l, run]);
    }

    static string Summary(int early, int final) =>
        (early < 0 ? "started faster" : early > 0 ? "started slower" : "started no faster") + (final > 0 ? " and ended behind" : final < 0 ? " and ended ahead" : " and ended level");

    // 4 ------------------------------------------------------------------------------------------------------------
    Finding Relora()
    {
        string l = MethodsRuns.Lora, re = MethodsRuns.Relora, full = MethodsRuns.Full;
        double rank = N.Need(re, UpdateRankMin);
        int gap = Floor.Compare(ValLoss, N.Need(full, ValLoss), N.Need(l, ValLoss));
        int moved = Floor.Compare(ValLoss, N.Need(re, ValLoss), N.Need(l, ValLoss));
        // the claim presumes full-rank training beats LoRA: where it does not here, there is nothing to approach
        var verdict = rank <= MethodsPlan.R ? Verdict.Contradicted : gap >= 0 ? Verdict.Inconclusive
            : moved > 0 ? Verdict.Contradicted : moved < 0 ? Verdict.Reproduced : Verdict.Inconclusive;
        double lv = N.Need(l, ValLoss), fv = N.Need(full, ValLoss), rv = N.Need(re, ValLoss);
        string closed = lv != fv ? F(100 * (lv - rv) / (lv - fv), "F0") + "%" : "-";
        IReadOnlyList<string> Row(string r, string label, string ranks) => [label, Loss(N.Need(r, ValLoss)), Loss(N.Need(r, EarlyTrainLoss)), Loss(N.Need(r, LateTrainLoss)), ranks, F(N.Need(r, Trainable), "N0")];
        string Ranks(string r) => N.Get(r, UpdateRankMin) is double lo && N.Get(r, UpdateRankMax) is double hi ? $"{lo:F0}–{hi:F0}" : "-";
        var (title, claim) = MethodClaims.Of("relora");
        return new Finding("relora", title, claim, MethodRules.Of("relora"),
            ["run", ValLoss, EarlyTrainLoss, LateTrainLoss, "update rank (min–max)", "trainable params"],
            [Row(l, "LoRA (lora-seed1)", $"≤ {MethodsPlan.R} (r)"), Row(re, $"ReLoRA (restart every {MethodsPlan.ReloraEvery(_scale)} steps)", Ranks(re)), Row(full, "full fine-tuning", Ranks(full)),
             ["share of LoRA's gap to full fine-tuning closed", closed, "", "", "", ""]],
            verdict, (gap >= 0 ? "full fine-tuning is not better than LoRA here, so there is no gap to close; " : "") +
                     $"update rank: smallest {rank:F0} against r {MethodsPlan.R}; ReLoRA: {Diff(ValLoss, re, l, "F4")}; full fine-tuning: {Diff(ValLoss, full, l, "F4")}; gap closed {closed}",
            [l, re, full]);
    }

    // 5 ------------------------------------------------------------------------------------------------------------
    Finding Galore()
    {
        string g = MethodsRuns.Galore, full = MethodsRuns.Full, l = MethodsRuns.Lora;
        int memory = Floor.Compare(OptimizerState, N.Need(g, OptimizerState), N.Need(full, OptimizerState));
        int quality = Floor.Compare(ValLoss, N.Need(g, ValLoss), N.Need(full, ValLoss));
        bool resolves = Floor.Compare(ValLoss, N.Need(l, ValLoss), N.Need(full, ValLoss)) != 0;
        var verdict = memory >= 0 || quality > 0 ? Verdict.Contradicted : quality < 0 || resolves ? Verdict.Reproduced : Verdict.Inconclusive;
        string Opt(string r, string col) => N.Get(r, col) is double v ? Mb(v) : "-";
        IReadOnlyList<string> Row(string r, string label) =>
            [label, Loss(N.Need(r, ValLoss)), .. Scores.Select(s => F(N.Need(r, s), "F4")), Opt(r, OptimizerState), Opt(r, OptimizerFile), F(N.Need(r, PeakMemory), "F0")];
        double ratio = N.Need(g, OptimizerState) / N.Need(full, OptimizerState);
        var (title, claim) = MethodClaims.Of("galore");
        return new Finding("galore", title, claim, MethodRules.Of("galore"),
            ["run", ValLoss, .. Scores, "optimizer state (MB, formula)", "optimizer.bin (MB, measured)", "peak memory (MB)"],
            [Row(full, "full fine-tuning (AdamW)"), Row(g, "GaLore"), Row(l, "LoRA (lora-seed1), for the floor")],
            verdict, $"optimizer state: {Diff(OptimizerState, g, full, "F3")}, {F(100 * ratio, "F1")}% of full fine-tuning's; val loss: {Diff(ValLoss, g, full, "F4")}; " +
                     $"LoRA against full fine-tuning: {Diff(ValLoss, l, full, "F4")} ({(resolves ? "the floor tells them apart" : "the floor cannot tell them apart")})",
            [full, g, l]);
    }
}
