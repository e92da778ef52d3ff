using System.Globalization;
using System.Text;
using LoraLab.Adapters.Analysis;
using LoraLab.Configuration;
using LoraLab.Data;
using LoraLab.Data.Demo;
using LoraLab.Demo;
using LoraLab.Evaluation.Tasks;

namespace LoraLab.Sweeps.Tips;

/// The lora-tips preset as a sweep file: the demo data cut to the scale, one baseline and every run that differs from
/// it by the one setting a finding is about. Written to DIR/sweep.yaml, so the preset is a sweep a user can read,
/// edit and run again with `loralab sweep --config`.
public static class TipsPlan
{
    public const string SweepFile = "sweep.yaml", LayerwiseFile = "sweep-layerwise.yaml", DataFolder = "data";
    public const string TrainData = "train.json", HeldOutData = "heldout.json";
    public const int BaselineR = 16, MaxSeqLength = 256;
    /// alpha = 2r, the rule of thumb the baseline follows (and every layer-wise module).
    public const double AlphaPerRank = 2, BaselineAlpha = AlphaPerRank * BaselineR;
    /// Learning rates by method and optimizer, each chosen once on the demo (2026-12-06): the demo's LoRA rate; full
    /// fine-tuning's default in `loralab demo --method full`; SGD (momentum 0.9) needs a far larger step than Adam.
    public const double LoraLr = 3e-3, FullLr = 1e-3, SgdLr = 0.1, FullSgdLr = 0.1;

    /// The task a family-only run trains on: its data file is DIR/data/<task>.json.
    public static string FamilyData(string task) => task + ".json";

    /// Writes DIR/data/: train.json (the first TrainPerTask examples of each task, in the demo's mixed order),
    /// count.json and first.json (one family each) and heldout.json (the first HeldOutPerTask of each task, the
    /// examples the demo tasks score). Returns how many training and held-out examples it wrote.
    public static (int Train, int HeldOut) WriteData(string dir, TipsScale scale, string assetsDir)
    {
        var data = Directory.CreateDirectory(Path.Combine(dir, DataFolder)).FullName;
        var train = DemoTasks.FromRecords(DatasetReader.Load(Path.Combine(assetsDir, DemoAssets.DataFolder, DemoAssets.TrainFile)));
        var held = DemoTasks.FromRecords(DatasetReader.Load(Path.Combine(assetsDir, DemoAssets.DataFolder, DemoAssets.HeldOutFile)));
        var trainCut = FirstOfEachTask(train, scale.TrainPerTask);
        Write(Path.Combine(data, TrainData), trainCut);
        var heldCut = FirstOfEachTask(held, scale.HeldOutPerTask);
        Write(Path.Combine(data, HeldOutData), heldCut);
        foreach (var task in new[] { DemoWorldTasks.CountTask, DemoWorldTasks.FirstTask })
            Write(Path.Combine(data, FamilyData(task)), trainCut.Where(e => e.Task == task).ToList());
        return (trainCut.Count, heldCut.Count);
    }

    static List<DemoExample> FirstOfEachTask(IReadOnlyList<DemoExample> examples, int perTask)
    {
        var taken = new Dictionary<string, int>();
        return examples.Where(e => (taken[e.Task] = taken.GetValueOrDefault(e.Task) + 1) <= perTask).ToList();
    }

    /// Same content → same bytes, so a restarted preset finds its data unchanged and its finished runs valid.
    static void Write(string path, IReadOnlyList<DemoExample> examples)
    {
        var text = DemoTasks.AlpacaJson(examples);
        if (File.Exists(path) && File.ReadAllText(path) == text) return;
        IO.AtomicFile.WriteAllText(path, text);
    }

    /// The sweep file of every run but the layer-wise pair (which needs the baseline's analysis first).
    public static string SweepYaml(string dir, TipsScale scale, string assetsDir)
    {
        var data = Path.GetFullPath(Path.Combine(dir, DataFolder));
        var y = new StringBuilder();
        y.Append($"# The lora-tips preset ({scale.Name} scale): every finding's runs on the demo model, each differing from the baseline\n")
         .Append("# (baseline-seed1) by the setting the finding is about. `loralab sweep --config THIS --out DIR` runs it again.\n");
        y.Append(BaseSection(data, scale, assetsDir));
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
        y.Append(BaseSection(data, scale, assetsDir));
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

    static string BaseSection(string data, TipsScale scale, string assetsDir)
    {
        (IRunSetting, string)[] settings =
        [
            (RunSettings.Model, Quote(Path.GetFullPath(Path.Combine(assetsDir, DemoAssets.BaseFolder)))),
            (RunSettings.Data, Quote(Path.Combine(data, TrainData))), (RunSettings.ValData, Quote(Path.Combine(data, HeldOutData))),
            (RunSettings.Method, "lora"), (RunSettings.Targets, "all"), (RunSettings.R, Num(BaselineR)), (RunSettings.Alpha, Num(BaselineAlpha)),
            (RunSettings.LoraDropout, "0"), (RunSettings.Optimizer, "adamw"), (RunSettings.Lr, Num(LoraLr)), (RunSettings.Schedule, "cosine"),
            (RunSettings.WarmupRatio, "0.1"), (RunSettings.Epochs, "1"), (RunSettings.BatchSize, Num(scale.BatchSize)),
            (RunSettings.MicroBatchSize, Num(scale.BatchSize)), (RunSettings.MaxSeqLength, Num(MaxSeqLength)), (RunSettings.Seed, "1"),
            (RunSettings.StopRatePrompts, "0"), (RunSettings.LogEvery, "1"),
        ];
        return "base:\n" + string.Concat(settings.Select(s => $"  {s.Item1.Key}: {s.Item2}\n"));
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

    static string Run(string name, IReadOnlyList<(IRunSetting Setting, string Value)> settings) =>
        $"  - {{name: {name}" + string.Concat(settings.Select(s => $", {s.Setting.Key}: {s.Value}")) + "}\n";

    static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    static string Quote(string path) => "'" + path.Replace("'", "''") + "'";
}
