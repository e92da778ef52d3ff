using System.Globalization;
using System.Text;
using LoraLab.Adapters.Analysis;
using LoraLab.Configuration;
using LoraLab.Data.Demo;
using LoraLab.Demo;
using LoraLab.Evaluation.Tasks;
using LoraLab.Sweeps.Presets;
using static LoraLab.Sweeps.Presets.PresetYaml;

namespace LoraLab.Sweeps.Tips;

/// The lora-tips preset as a sweep file: the demo data cut to the scale, one baseline and every run that differs from
/// it by the one setting a finding is about. Written to DIR/sweep.yaml, so the preset is a sweep a user can read,
/// edit and run again with `loralab sweep --config`.
public static class TipsPlan
{
    public const string SweepFile = "sweep.yaml", LayerwiseFile = "sweep-layerwise.yaml", DataFolder = PresetData.Folder;
    public const string TrainData = PresetData.TrainData, HeldOutData = PresetData.HeldOutData;
    public const int BaselineR = 16, MaxSeqLength = 256;
    /// alpha = 2r, the rule of thumb the baseline follows (and every layer-wise module).
    public const double AlphaPerRank = 2, BaselineAlpha = AlphaPerRank * BaselineR;
    /// Learning rates by method and optimizer, each chosen once on the demo (2026-12-06): the demo's LoRA rate; full
    /// fine-tuning's default in `loralab demo --method full`; SGD (momentum 0.9) needs a far larger step than Adam.
    public const double LoraLr = 3e-3, FullLr = 1e-3, SgdLr = 0.1, FullSgdLr = 0.1;

    /// The task a family-only run trains on: its data file is DIR/data/<task>.json.
    public static string FamilyData(string task) => task + ".json";

    /// Writes DIR/data/: train.json and heldout.json (PresetData), and count.json and first.json (one family each of
    /// train.json). Returns how many training and held-out examples it wrote.
    public static (int Train, int HeldOut) WriteData(string dir, TipsScale scale, string assetsDir)
    {
        var (train, held) = PresetData.Write(dir, scale.TrainPerTask, scale.HeldOutPerTask, assetsDir);
        foreach (var task in new[] { DemoWorldTasks.CountTask, DemoWorldTasks.FirstTask })
            PresetData.WriteFile(Path.Combine(dir, DataFolder, FamilyData(task)), train.Where(e => e.Task == task).ToList());
        return (train.Count, held.Count);
    }

    /// The sweep file of every run but the layer-wise pair (which needs the baseline's analysis first).
    public static string SweepYaml(string dir, TipsScale scale, string assetsDir)
    {
        var data = Path.GetFullPath(Path.Combine(dir, DataFolder));
        var y = new StringBuilder();
        y.Append($"# The lora-tips preset ({scale.Name} scale): every finding's runs on the demo model, each differing from the baseline\n")
         .Append("# (baseline-seed1) by the setting the finding is about. `loralab sweep --config THIS --out DIR` runs it again.\n");
        y.Append(BaseSection(data, scale.BatchSize, assetsDir));
        y.Append($"eval:\n  - {{task: demo, limit: {scale.HeldOutPerTask}}}\n");
        y.Append("runs:\n");
        foreach (var (name, settings) in Runs(data, scale)) y.Append(Run(name, settings));
        return y.ToString();
    }

    /// The layer-wise pair: the baseline's suggested ranks (r + rank_pattern, alpha_pattern 2 × each rank) against one
    /// rank everywhere with about the same number of trainable parameters; every module's scale alpha/r is 2.
    public static string LayerwiseYaml(string dir, TipsScale scale, string assetsDir, RankSuggestion suggestion, int uniformR)
    {
        var data = Path.GetFullPath(Path.Combine(dir, DataFolder));
        var y = new StringBuilder("# The lora-tips preset's layer-wise rank runs: `loralab analyze`'s suggestion for baseline-seed1 against a uniform\n")
            .Append("# rank with the same number of trainable parameters.\n");
        y.Append(BaseSection(data, scale.BatchSize, assetsDir));
        y.Append($"eval:\n  - {{task: demo, limit: {scale.HeldOutPerTask}}}\n");
        y.Append("runs:\n");
        static string Map<T>(IEnumerable<(string Key, T Value)> pairs) =>
            "{" + string.Join(", ", pairs.Select(p => $"'{p.Key.Replace("'", "''")}': {Convert.ToDouble(p.Value).ToString("R", CultureInfo.InvariantCulture)}")) + "}";
        (IRunSetting, string)[] pattern = suggestion.Pattern.Count == 0 ? [] :
            [(RunSettings.RankPattern, Map(suggestion.Pattern)), (RunSettings.AlphaPattern, Map(suggestion.AlphaPattern(AlphaPerRank)))];
        y.Append(Run(TipsRuns.RankPattern, [(RunSettings.R, Num(suggestion.R)), (RunSettings.Alpha, Num(AlphaPerRank * suggestion.R)), .. pattern]));
        y.Append(Run(TipsRuns.RankUniform, [(RunSettings.R, Num(uniformR)), (RunSettings.Alpha, Num(AlphaPerRank * uniformR))]));
        return y.ToString();
    }

    /// The LoRA baseline's settings (the methods preset's LoRA is the same baseline, trained for `epochs` in a fixed
    /// precision). Without `precision` each run picks its own (auto).
    internal static string BaseSection(string data, int batchSize, string assetsDir, int epochs = 1, string? precision = null)
    {
        (IRunSetting, string)[] settings =
        [
            (RunSettings.Model, Quote(Path.GetFullPath(Path.Combine(assetsDir, DemoAssets.BaseFolder)))),
            (RunSettings.Data, Quote(Path.Combine(data, TrainData))), (RunSettings.ValData, Quote(Path.Combine(data, HeldOutData))),
            (RunSettings.Method, "lora"), (RunSettings.Targets, "all"), (RunSettings.R, Num(BaselineR)), (RunSettings.Alpha, Num(BaselineAlpha)),
            (RunSettings.LoraDropout, "0"), (RunSettings.Optimizer, "adamw"), (RunSettings.Lr, Num(LoraLr)), (RunSettings.Schedule, "cosine"),
            (RunSettings.WarmupRatio, "0.1"), (RunSettings.Epochs, Num(epochs)), (RunSettings.BatchSize, Num(batchSize)),
            (RunSettings.MicroBatchSize, Num(batchSize)), (RunSettings.MaxSeqLength, Num(MaxSeqLength)), (RunSettings.Seed, "1"),
            (RunSettings.StopRatePrompts, "0"), (RunSettings.LogEvery, "1"),
        ];
        return Section("base", precision is null ? settings : [.. settings, (RunSettings.Precision, precision)]);
    }

    /// Every run but the layer-wise pair, in the order the report discusses them.
    static IEnumerable<(string Name, (IRunSetting Setting, string Value)[] Settings)> Runs(string data, TipsScale scale)
    {
        for (int k = 1; k <= TipsScale.Seeds; k++) yield return (TipsRuns.Seed(k), k == 1 ? [] : [(RunSettings.Seed, Num(k))]);
        yield return (TipsRuns.Qlora, [(RunSettings.Method, "qlora")]);
        yield return (TipsRuns.AdamwConstant, [(RunSettings.Schedule, "constant")]);
        yield return (TipsRuns.SgdCosine, [(RunSettings.Optimizer, "sgd"), (RunSettings.Lr, Num(SgdLr))]);
        yield return (TipsRuns.SgdConstant, [(RunSettings.Optimizer, "sgd"), (RunSettings.Lr, Num(SgdLr)), (RunSettings.Schedule, "constant")]);
        yield return (TipsRuns.FullAdamw, [(RunSettings.Method, "full"), (RunSettings.Lr, Num(FullLr))]);
        yield return (TipsRuns.FullSgd, [(RunSettings.Method, "full"), (RunSettings.Optimizer, "sgd"), (RunSettings.Lr, Num(FullSgdLr))]);
        foreach (var n in TipsScale.Epochs.Where(n => n > 1)) yield return (TipsRuns.Epochs(n), [(RunSettings.Epochs, Num(n))]);
        yield return (TipsRuns.TargetsKv, [(RunSettings.Targets, "kv")]);
        yield return (TipsRuns.TargetsQv, [(RunSettings.Targets, "qv")]);
        foreach (var r in scale.Ranks)
            foreach (var f in scale.AlphaFactors)
                if (TipsRuns.RankAlpha(r, f * r) is var name && name != TipsRuns.Baseline)
                    yield return (name, [(RunSettings.R, Num(r)), (RunSettings.Alpha, Num(f * r))]);
        // one family is a third of the data: as many epochs as families make as many steps as the baseline's one
        foreach (var (name, task) in new[] { (TipsRuns.CountOnly, DemoWorldTasks.CountTask), (TipsRuns.FirstOnly, DemoWorldTasks.FirstTask) })
            yield return (name, [(RunSettings.Data, Quote(Path.Combine(data, FamilyData(task)))), (RunSettings.Epochs, Num(DemoTasks.All.Count))]);
    }
}
