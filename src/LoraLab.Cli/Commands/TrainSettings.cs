using System.ComponentModel;
using LoraLab.Configuration;
using Spectre.Console.Cli;
using S = LoraLab.Configuration.RunSettings;

namespace LoraLab.Cli.Commands;

/// `loralab train` flags. Each run setting's spelling, help and range are RunSettings' and its default RunConfig's
/// (the help provider shows both); this class only lets Spectre parse them, and ToLayer binds each one explicitly.
public sealed class TrainSettings : CommandSettings, LoraLab.Cli.Hub.IOfflineFlag
{
    [CommandOption("--config <YAML>")][Description("YAML run config (keys as the flags with underscores: micro_batch_size; flat or grouped by section: lora: {r: 16}); flags given on the command line override it.")]
    public string? ConfigFile { get; set; }
    [CommandOption("--set <KEY=VALUE>")][Description("Override one setting by key path, after the flags: --set lora.r=16 --set optim.lr=1e-4 (repeatable; the bare key works too: r=16).")]
    public string[] Set { get; set; } = [];
    [CommandOption("--overwrite")][Description("Allow writing into a non-empty --out folder.")]
    public bool Overwrite { get; set; }
    [CommandOption("--resume <DIR>")][Description("Continue a run: its folder (settings from its run.yaml, its newest checkpoint) or one checkpoint folder (weights, optimizer, schedule, data position, RNG).")]
    public string? Resume { get; set; }
    [CommandOption("--allow-config-change")][Description("On --resume, apply settings that differ from the run's run.yaml (data, base, seed, batch, LoRA shape, schedule); they are recorded.")]
    public bool AllowConfigChange { get; set; }
    [CommandOption(SharedFlags.Offline)][Description(SharedFlags.OfflineHelp)]
    public bool Offline { get; set; }
    [CommandOption("--report")][Description("At the end, write the run's report (plots and final metrics, as `loralab report`) into RUN_DIR/report.")]
    public bool Report { get; set; }

    [CommandOption(S.ModelFlag)] public string? Model { get; set; }
    [CommandOption(S.MethodFlag)] public string? Method { get; set; }
    [CommandOption(S.DeviceFlag)] public string? Device { get; set; }
    [CommandOption(S.PrecisionFlag)] public string? Precision { get; set; }
    [CommandOption(S.QuantizeFlag)] public string? Quantize { get; set; }
    [CommandOption(S.ThreadsFlag)] public int? Threads { get; set; }
    [CommandOption(S.StreamsFlag)] public int? Streams { get; set; }
    [CommandOption(S.DistributedFlag)] public string? Distributed { get; set; }
    [CommandOption(S.DistributedTimeoutFlag)] public int? DistributedTimeout { get; set; }
    [CommandOption(S.DataFlag)] public string? Data { get; set; }
    [CommandOption(S.ValDataFlag)] public string? ValData { get; set; }
    [CommandOption(S.MaxRecordBytesFlag)] public long? MaxRecordBytes { get; set; }
    [CommandOption(S.EncodingErrorsFlag)] public string? EncodingErrors { get; set; }
    [CommandOption(S.TemplateFlag)] public string? Template { get; set; }
    [CommandOption(S.MaxSeqLengthFlag)] public int? MaxSeqLength { get; set; }
    [CommandOption(S.LongExamplesFlag)] public string? LongExamples { get; set; }
    [CommandOption(S.TrainOnInputsFlag)] public bool? TrainOnInputs { get; set; }
    [CommandOption(S.PackingFlag)] public bool? Packing { get; set; }
    [CommandOption(S.ValFractionFlag)] public double? ValFraction { get; set; }
    [CommandOption(S.RFlag)] public int? R { get; set; }
    [CommandOption(S.AlphaFlag)] public double? Alpha { get; set; }
    [CommandOption(S.LoraDropoutFlag)] public double? LoraDropout { get; set; }
    [CommandOption(S.TargetsFlag)] public string? Targets { get; set; }
    [CommandOption(S.LoraHeadFlag)] public bool? LoraHead { get; set; }
    [CommandOption(S.UseRsloraFlag)] public bool? UseRslora { get; set; }
    [CommandOption(S.UseDoraFlag)] public bool? UseDora { get; set; }
    [CommandOption(S.InitFlag)] public string? Init { get; set; }
    [CommandOption(S.RankPatternFlag)] public string? RankPattern { get; set; }
    [CommandOption(S.AlphaPatternFlag)] public string? AlphaPattern { get; set; }
    [CommandOption(S.ReloraEveryFlag)] public int? ReloraEvery { get; set; }
    [CommandOption(S.OptimizerFlag)] public string? Optimizer { get; set; }
    [CommandOption(S.LrFlag)] public double? Lr { get; set; }
    [CommandOption(S.WeightDecayFlag)] public double? WeightDecay { get; set; }
    [CommandOption(S.MomentumFlag)] public double? Momentum { get; set; }
    [CommandOption(S.NesterovFlag)] public bool? Nesterov { get; set; }
    [CommandOption(S.MaxGradNormFlag)] public double? MaxGradNorm { get; set; }
    [CommandOption(S.LoraplusLrRatioFlag)] public double? LoraplusLrRatio { get; set; }
    [CommandOption(S.GaloreRankFlag)] public int? GaloreRank { get; set; }
    [CommandOption(S.GaloreUpdateEveryFlag)] public int? GaloreUpdateEvery { get; set; }
    [CommandOption(S.GaloreScaleFlag)] public double? GaloreScale { get; set; }
    [CommandOption(S.ScheduleFlag)] public string? Schedule { get; set; }
    [CommandOption(S.WarmupStepsFlag)] public int? WarmupSteps { get; set; }
    [CommandOption(S.WarmupRatioFlag)] public double? WarmupRatio { get; set; }
    [CommandOption(S.MinLrFlag)] public double? MinLr { get; set; }
    [CommandOption(S.BatchSizeFlag)] public int? BatchSize { get; set; }
    [CommandOption(S.MicroBatchSizeFlag)] public int? MicroBatchSize { get; set; }
    [CommandOption(S.MaxStepsFlag)] public int? MaxSteps { get; set; }
    [CommandOption(S.EpochsFlag)] public int? Epochs { get; set; }
    [CommandOption(S.SeedFlag)] public int? Seed { get; set; }
    [CommandOption(S.EvalEveryFlag)] public int? EvalEvery { get; set; }
    [CommandOption(S.SaveEveryFlag)] public int? SaveEvery { get; set; }
    [CommandOption(S.SaveTotalLimitFlag)] public int? SaveTotalLimit { get; set; }
    [CommandOption(S.LogEveryFlag)] public int? LogEvery { get; set; }
    [CommandOption(S.StopRatePromptsFlag)] public int? StopRatePrompts { get; set; }
    [CommandOption(S.BetaFlag)] public double? Beta { get; set; }
    [CommandOption(S.LossFlag)] public string? Loss { get; set; }
    [CommandOption(S.LabelSmoothingFlag)] public double? LabelSmoothing { get; set; }
    [CommandOption(S.OrpoAlphaFlag)] public double? OrpoAlpha { get; set; }
    [CommandOption(S.MaxPromptLengthFlag)] public int? MaxPromptLength { get; set; }
    [CommandOption(S.RefAdapterFlag)] public string? RefAdapter { get; set; }
    [CommandOption(S.PrecomputeRefFlag)] public bool? PrecomputeRef { get; set; }
    [CommandOption(S.OutFlag)] public string? Out { get; set; }

    /// The run settings given as flags, then the --set overrides, each named as the user wrote it.
    public SettingLayer ToLayer()
    {
        var layer = new SettingLayer()
        .Flag(S.Model, Model)
        .Flag(S.Method, Method)
        .Flag(S.Device, Device)
        .Flag(S.Precision, Precision)
        .Flag(S.Quantize, Quantize)
        .Flag(S.Threads, Threads)
        .Flag(S.Streams, Streams)
        .Flag(S.Distributed, Distributed)
        .Flag(S.DistributedTimeout, DistributedTimeout)
        .Flag(S.Data, Data)
        .Flag(S.ValData, ValData)
        .Flag(S.MaxRecordBytes, MaxRecordBytes)
        .Flag(S.EncodingErrors, EncodingErrors)
        .Flag(S.Template, Template)
        .Flag(S.MaxSeqLength, MaxSeqLength)
        .Flag(S.LongExamples, LongExamples)
        .Flag(S.TrainOnInputs, TrainOnInputs)
        .Flag(S.Packing, Packing)
        .Flag(S.ValFraction, ValFraction)
        .Flag(S.R, R)
        .Flag(S.Alpha, Alpha)
        .Flag(S.LoraDropout, LoraDropout)
        .Flag(S.Targets, Targets)
        .Flag(S.LoraHead, LoraHead)
        .Flag(S.UseRslora, UseRslora)
        .Flag(S.UseDora, UseDora)
        .Flag(S.Init, Init)
        .Flag(S.RankPattern, RankPattern)
        .Flag(S.AlphaPattern, AlphaPattern)
        .Flag(S.ReloraEvery, ReloraEvery)
        .Flag(S.Optimizer, Optimizer)
        .Flag(S.Lr, Lr)
        .Flag(S.WeightDecay, WeightDecay)
        .Flag(S.Momentum, Momentum)
        .Flag(S.Nesterov, Nesterov)
        .Flag(S.MaxGradNorm, MaxGradNorm)
        .Flag(S.LoraplusLrRatio, LoraplusLrRatio)
        .Flag(S.GaloreRank, GaloreRank)
        .Flag(S.GaloreUpdateEvery, GaloreUpdateEvery)
        .Flag(S.GaloreScale, GaloreScale)
        .Flag(S.Schedule, Schedule)
        .Flag(S.WarmupSteps, WarmupSteps)
        .Flag(S.WarmupRatio, WarmupRatio)
        .Flag(S.MinLr, MinLr)
        .Flag(S.BatchSize, BatchSize)
        .Flag(S.MicroBatchSize, MicroBatchSize)
        .Flag(S.MaxSteps, MaxSteps)
        .Flag(S.Epochs, Epochs)
        .Flag(S.Seed, Seed)
        .Flag(S.EvalEvery, EvalEvery)
        .Flag(S.SaveEvery, SaveEvery)
        .Flag(S.SaveTotalLimit, SaveTotalLimit)
        .Flag(S.LogEvery, LogEvery)
        .Flag(S.StopRatePrompts, StopRatePrompts)
        .Flag(S.Beta, Beta)
        .Flag(S.Loss, Loss)
        .Flag(S.LabelSmoothing, LabelSmoothing)
        .Flag(S.OrpoAlpha, OrpoAlpha)
        .Flag(S.MaxPromptLength, MaxPromptLength)
        .Flag(S.RefAdapter, RefAdapter)
        .Flag(S.PrecomputeRef, PrecomputeRef)
        .Flag(S.Out, Out);
        foreach (var kv in Set)
        {
            int eq = kv.IndexOf('=');
            if (eq <= 0) throw new UserException($"--set {kv}: expected KEY=VALUE (e.g. --set lora.r=16)");
            var setting = RunSettings.Find(kv[..eq]);
            layer.Parse(setting, kv[(eq + 1)..], $"--set {kv[..eq]}");
        }
        return layer;
    }
}
