using System.Reflection;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace LoraLab.Training;

/// Everything one `loralab train` run is made of. Every property is also a CLI flag (`micro_batch_size` in YAML
/// is `--micro-batch-size`); a null means "not given here". Layers are overlaid defaults ← YAML ← CLI, and the
/// resolved result is written beside the outputs as run.yaml.
public sealed class RunConfig
{
    public string? Model { get; set; }
    public string? Data { get; set; }
    public string? ValData { get; set; }
    public long? MaxRecordBytes { get; set; }
    public string? EncodingErrors { get; set; }
    public string? Out { get; set; }
    public string? Method { get; set; }
    public string? Device { get; set; }
    public string? Precision { get; set; }
    public string? Template { get; set; }
    public int? MaxSeqLength { get; set; }
    public string? LongExamples { get; set; }
    public bool? TrainOnInputs { get; set; }
    public bool? Packing { get; set; }
    public double? ValFraction { get; set; }
    public double? Lr { get; set; }
    public int? BatchSize { get; set; }
    public int? MicroBatchSize { get; set; }
    public int? MaxSteps { get; set; }
    public int? Epochs { get; set; }
    public int? Seed { get; set; }
    public string? Optimizer { get; set; }
    public double? WeightDecay { get; set; }
    public double? Momentum { get; set; }
    public bool? Nesterov { get; set; }
    public string? Schedule { get; set; }
    public int? WarmupSteps { get; set; }
    public double? WarmupRatio { get; set; }
    public double? MinLr { get; set; }
    public double? MaxGradNorm { get; set; }
    public int? EvalEvery { get; set; }
    public int? SaveEvery { get; set; }
    public int? SaveTotalLimit { get; set; }
    public int? LogEvery { get; set; }
    public int? R { get; set; }
    public double? Alpha { get; set; }
    public double? LoraDropout { get; set; }
    public string? Targets { get; set; }
    public bool? LoraHead { get; set; }
    public bool? UseRslora { get; set; }
    public string? Quantize { get; set; }
    public int? Threads { get; set; }
    /// Single-threaded slices each micro-batch is split into on the CPU (1 = off; LoRA/QLoRA without dropout).
    public int? Streams { get; set; }
    /// Held-out prompts whose greedy generations are checked for stopping after training (0 = skip).
    public int? StopRatePrompts { get; set; }
    /// Written to run.yaml, never read as a setting: what the run did (RunRecord).
    public RunPlan? Ran { get; set; }
    public List<ResumeRecord>? Resumed { get; set; }

    public static RunConfig Defaults() => new()
    {
        Method = "lora", Device = "auto", Precision = "auto", Template = "alpaca", MaxSeqLength = 512, LongExamples = "truncate",
        TrainOnInputs = false, Packing = false, ValFraction = 0.05, Lr = 3e-4, BatchSize = 16, MicroBatchSize = 4, Epochs = 1,
        Seed = 42, Optimizer = "adamw", WeightDecay = 0.0, Momentum = 0.9, Nesterov = false, Schedule = "cosine", MinLr = 0,
        MaxGradNorm = 1.0, Streams = 1, EvalEvery = 0, SaveEvery = 0, LogEvery = 1, R = 8, Alpha = 16, LoraDropout = 0.05, Targets = "all",
        LoraHead = false, UseRslora = false, StopRatePrompts = 16,
    };

    static readonly PropertyInfo[] Props = typeof(RunConfig).GetProperties();

    /// A copy of this config with every non-null value of `top` written over it.
    public RunConfig Overlay(RunConfig top)
    {
        var r = (RunConfig)MemberwiseClone();
        foreach (var p in Props)
            if (p.GetValue(top) is { } v) p.SetValue(r, v);
        return r;
    }

    /// Every given numeric value against its SettingRanges entry; `nameOf` names a property as the user wrote it.
    public void CheckRanges(Func<string, string> nameOf)
    {
        foreach (var p in Props)
            if (SettingRanges.For(p.Name) is { } range && p.GetValue(this) is { } v)
                range.Check(nameOf(p.Name), Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture));
    }

    /// The command-line flag of property `name` (`MicroBatchSize` is `--micro-batch-size`).
    public static string FlagName(string name) => "--" + UnderscoredNamingConvention.Instance.Apply(name).Replace('_', '-');

    public static RunConfig LoadYaml(string path)
    {
        if (!File.Exists(path)) throw new UserException($"{path}: run config not found");
        return RunConfigYaml.Parse(path, Runtime.BoundedFile.ReadText(path, Runtime.FileLimit.RunConfig));
    }

    public string ToYaml() =>
        new SerializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance)
            .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull).Build().Serialize(this);

    public TrainOptions ToTrainOptions() => new()
    {
        Lr = Lr!.Value, BatchSize = BatchSize!.Value, MicroBatchSize = MicroBatchSize!.Value, MaxSteps = MaxSteps, Epochs = Epochs!.Value,
        Seed = Seed!.Value, Optimizer = Optimizer!, WeightDecay = WeightDecay!.Value, Momentum = Momentum!.Value, Nesterov = Nesterov!.Value,
        Schedule = Schedule!, WarmupSteps = WarmupSteps, WarmupRatio = WarmupRatio, MinLr = MinLr!.Value, MaxGradNorm = MaxGradNorm!.Value,
        EvalEvery = EvalEvery!.Value, SaveEvery = SaveEvery!.Value, SaveTotalLimit = SaveTotalLimit, LogEvery = LogEvery!.Value, Streams = Streams!.Value,
    };
}
