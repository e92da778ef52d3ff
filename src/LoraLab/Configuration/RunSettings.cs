using System.Globalization;
using LoraLab.Runtime;
using static LoraLab.Configuration.SettingKinds;

namespace LoraLab.Configuration;

/// Every run setting, declared once: section, flag (the constant is what `train`'s option attribute uses; the YAML key
/// is the flag's name with underscores), help and range. Defaults live in RunConfig's initialisers.
public static class RunSettings
{
    public const string ModelFlag = "--model " + FolderOrHubIdPlaceholder, MethodFlag = "--method <METHOD>", DeviceFlag = "--device <DEVICE>",
        PrecisionFlag = "--precision <P>", QuantizeFlag = "--quantize <Q>", ThreadsFlag = "--threads <N>", StreamsFlag = "--streams <N>",
        DistributedFlag = "--distributed <MODE>", DistributedTimeoutFlag = "--distributed-timeout <SECONDS>",
        DataFlag = "--data <FILE>", ValDataFlag = "--val-data <FILE>", MaxRecordBytesFlag = "--max-record-bytes <BYTES>",
        EncodingErrorsFlag = "--encoding-errors <MODE>", TemplateFlag = "--template <NAME>", MaxSeqLengthFlag = "--max-seq-length <N>",
        LongExamplesFlag = "--long-examples <POLICY>", TrainOnInputsFlag = "--train-on-inputs", PackingFlag = "--packing",
        ValFractionFlag = "--val-fraction <F>", RFlag = "-r|--rank <R>", AlphaFlag = "--alpha <A>", LoraDropoutFlag = "--lora-dropout <P>",
        TargetsFlag = "--targets <T>", LoraHeadFlag = "--lora-head", UseRsloraFlag = "--use-rslora", UseDoraFlag = "--dora|--use-dora", InitFlag = "--init <INIT>", RankPatternFlag = "--rank-pattern <KEY=R,...>",
        AlphaPatternFlag = "--alpha-pattern <KEY=A,...>", ReloraEveryFlag = "--relora-every <K>", OptimizerFlag = "--optimizer <NAME>",
        LrFlag = "--lr <LR>", WeightDecayFlag = "--weight-decay <W>", MomentumFlag = "--momentum <M>", NesterovFlag = "--nesterov",
        MaxGradNormFlag = "--max-grad-norm <N>", LoraplusLrRatioFlag = "--loraplus-lr-ratio <R>",
        GaloreRankFlag = "--galore-rank <R>", GaloreUpdateEveryFlag = "--galore-update-every <T>", GaloreScaleFlag = "--galore-scale <A>", ScheduleFlag = "--schedule <NAME>", WarmupStepsFlag = "--warmup-steps <N>",
        WarmupRatioFlag = "--warmup-ratio <F>", MinLrFlag = "--min-lr <LR>", BatchSizeFlag = "--batch-size <N>",
        MicroBatchSizeFlag = "--micro-batch-size <N>", MaxStepsFlag = "--max-steps <N>", EpochsFlag = "--epochs <N>", SeedFlag = "--seed <N>",
        EvalEveryFlag = "--eval-every <N>", SaveEveryFlag = "--save-every <N>", SaveTotalLimitFlag = "--save-total-limit <N>",
        LogEveryFlag = "--log-every <N>", StopRatePromptsFlag = "--stop-rate-prompts <N>", OutFlag = "--out <DIR>",
        BetaFlag = "--beta <B>", LossFlag = "--loss <LOSS>", LabelSmoothingFlag = "--label-smoothing <E>", OrpoAlphaFlag = "--orpo-alpha <A>",
        MaxPromptLengthFlag = "--max-prompt-length <N>", RefAdapterFlag = "--ref-adapter " + FolderOrHubIdPlaceholder, PrecomputeRefFlag = "--precompute-ref";

    /// What a flag taking a model or an adapter accepts (Hub.ModelSource.Resolve), in help text (Spectre markup: `[[` is `[`).
    public const string FolderOrHubIdPlaceholder = "<DIR|ORG/NAME>", FolderOrHubIdHelp = "folder or Hugging Face Hub id org/name[[@revision]]";
    public const string ThreadsHelp = "CPU threads for libtorch (unset: the physical cores).", DeviceHelp = "auto (CUDA if available, else CPU), cpu or cuda.";
    public const string MaxRecordBytesHelp = "Largest data record (one JSONL line or JSON array element) in bytes; a longer one is an error naming its line.";
    public const string EncodingErrorsHelp = "strict: bytes in the data that are not UTF-8 are an error naming file, line and byte; replace: they become U+FFFD.";

    // Section names differ from every key, so `base: {model: ...}` and `model: ...` never read alike.
    const string ModelS = "base", RuntimeS = "runtime", DataS = "dataset", LoraS = "lora", OptimS = "optim", ScheduleS = "schedule", LoopS = "loop", OutputS = "output",
        PreferenceS = "preference";

    // base
    public static readonly RunSetting<string?> Model = Path(ModelS, ModelFlag, "Base model: a " + FolderOrHubIdHelp + ".", c => c.Model, (c, v) => c.Model = v);
    public static readonly RunSetting<TrainMethod> Method = Choice(ModelS, MethodFlag,
        "lora, qlora (4-bit base + LoRA), full (all weights; the baseline), galore (all weights, GaLore's low-rank projected AdamW: --galore-*), dpo (a LoRA adapter on chosen/rejected pairs, the base as reference; --quantize for a 4-bit base) or orpo (reference-free odds ratio + NLL).",
        RunChoices.Method, c => c.Method, (c, v) => c.Method = v);
    public static readonly RunSetting<string> Device = Text(RuntimeS, DeviceFlag, DeviceHelp, c => c.Device, (c, v) => c.Device = v!, learns: false);
    /// What `auto` picks, said once for every verb that takes --precision.
    public const string AutoPrecisionHelp = "auto: bf16 mixed precision (frozen base in bf16, trainable weights and optimizer state fp32) on CUDA and on a CPU that " +
        "measures bf16 products clearly faster than fp32 (AMX); fp32 elsewhere; `loralab doctor` says which and why (LORALAB_CPU_BF16=0 keeps fp32).";
    public static readonly RunSetting<Precision> Precision = Choice(ModelS, PrecisionFlag,
        "auto, fp32, bf16 or fp16-mixed (fp16 base, fp32 adapters, dynamic loss scaling; LoRA/QLoRA only). " + AutoPrecisionHelp,
        RunChoices.Precision, c => c.Precision, (c, v) => c.Precision = v);
    public static readonly RunSetting<Adapters.Quantization.QuantScheme?> Quantize = OptionalChoice(ModelS, QuantizeFlag,
        "Base quantization for --method qlora (nf4 when not given: fp4, int8), and for dpo/orpo on a quantized base.", RunChoices.Quantize, c => c.Quantize, (c, v) => c.Quantize = v);
    public static readonly RunSetting<int?> Threads = OptionalWhole(RuntimeS, ThreadsFlag, ThreadsHelp,
        c => c.Threads, (c, v) => c.Threads = v, TorchRuntime.ThreadRange, learns: false);
    public static readonly RunSetting<int> Streams = Whole(RuntimeS, StreamsFlag,
        "Split each micro-batch over N single-threaded slices run side by side on the CPU (1 = off; needs LoRA/QLoRA with --lora-dropout 0). Faster on small CPUs, more memory.",
        c => c.Streams, (c, v) => c.Streams = v, TorchRuntime.ThreadRange, learns: false);
    public static readonly RunSetting<DistributedMode> Distributed = Choice(RuntimeS, DistributedFlag,
        "none, or mpi: data-parallel training over the ranks of `mpirun -np N loralab train ...` (each rank trains its share of every micro-batch; the result equals one process).",
        RunChoices.Distributed, c => c.Distributed, (c, v) => c.Distributed = v, learns: false);
    public static readonly RunSetting<int> DistributedTimeout = Whole(RuntimeS, DistributedTimeoutFlag,
        "With --distributed mpi: seconds a rank waits for the others in one exchange before it ends the job as dead or hung.",
        c => c.DistributedTimeout, (c, v) => c.DistributedTimeout = v, new NumberRange(1, 1_000_000, Whole: true), learns: false);

    // dataset
    public static readonly RunSetting<string?> Data = Path(DataS, DataFlag, "Training data: Alpaca JSON/JSONL, chat (messages), ShareGPT, text, input_ids, or Parquet.",
        c => c.Data, (c, v) => c.Data = v);
    public static readonly RunSetting<string?> ValData = Path(DataS, ValDataFlag, "Validation data (otherwise --val-fraction of --data is held out).",
        c => c.ValData, (c, v) => c.ValData = v);
    public static readonly RunSetting<long> MaxRecordBytes = WholeLong(DataS, MaxRecordBytesFlag, MaxRecordBytesHelp,
        c => c.MaxRecordBytes, (c, v) => c.MaxRecordBytes = v, LoraLab.Data.DataReadOptions.RecordBytesRange);
    public static readonly RunSetting<LoraLab.Data.EncodingErrors> EncodingErrors = Choice(DataS, EncodingErrorsFlag, EncodingErrorsHelp,
        RunChoices.EncodingErrors, c => c.EncodingErrors, (c, v) => c.EncodingErrors = v);
    public static readonly RunSetting<string> Template = Text(DataS, TemplateFlag,
        "Prompt template: alpaca, chatml, llama2-chat, llama3, plain, or auto (the model's own chat template when it is one of these).",
        c => c.Template, (c, v) => c.Template = v!);
    public static readonly RunSetting<int> MaxSeqLength = Whole(DataS, MaxSeqLengthFlag, "Longest example in tokens.",
        c => c.MaxSeqLength, (c, v) => c.MaxSeqLength = v, NumberRange.AtLeast(8));
    public static readonly RunSetting<LoraLab.Data.LongExamplePolicy> LongExamples = Choice(DataS, LongExamplesFlag, "truncate or drop examples over --max-seq-length.",
        RunChoices.LongExamples, c => c.LongExamples, (c, v) => c.LongExamples = v);
    public static readonly RunSetting<bool> TrainOnInputs = Switch(DataS, TrainOnInputsFlag, "Also train on prompt tokens (otherwise responses only).",
        c => c.TrainOnInputs, (c, v) => c.TrainOnInputs = v);
    public static readonly RunSetting<bool> Packing = Switch(DataS, PackingFlag, "Pack examples into full rows (block-diagonal attention, per-example positions).",
        c => c.Packing, (c, v) => c.Packing = v);
    public static readonly RunSetting<double> ValFraction = Number(DataS, ValFractionFlag, "Share of --data held out for validation.",
        c => c.ValFraction, (c, v) => c.ValFraction = v, NumberRange.Fraction);

    // lora
    public static readonly RunSetting<int> R = Whole(LoraS, RFlag, "LoRA rank r (`--r` works too).", c => c.R, (c, v) => c.R = v, NumberRange.AtLeast(1), key: "r");
    public static readonly RunSetting<double> Alpha = Number(LoraS, AlphaFlag, "LoRA alpha; the update is scaled by alpha/r (rule of thumb: alpha = 2r).",
        c => c.Alpha, (c, v) => c.Alpha = v, NumberRange.Positive);
    public static readonly RunSetting<double> LoraDropout = Number(LoraS, LoraDropoutFlag, "Dropout on the LoRA branch's input.",
        c => c.LoraDropout, (c, v) => c.LoraDropout = v, NumberRange.Fraction);
    public static readonly RunSetting<string> Targets = Text(LoraS, TargetsFlag, "all, attn, mlp, qv, kv, or module names like q_proj,v_proj.",
        c => c.Targets, (c, v) => c.Targets = v!);
    public static readonly RunSetting<bool> LoraHead = Switch(LoraS, LoraHeadFlag, "Also adapt lm_head.", c => c.LoraHead, (c, v) => c.LoraHead = v);
    public static readonly RunSetting<bool> UseRslora = Switch(LoraS, UseRsloraFlag, "Scale by alpha/sqrt(r) (rank-stabilised LoRA).",
        c => c.UseRslora, (c, v) => c.UseRslora = v);
    public static readonly RunSetting<Adapters.LoraInit> Init = Choice(LoraS, InitFlag,
        "kaiming (PEFT's default: A kaiming-uniform, B = 0), gaussian, pissa (A, B from W's top-r singular vectors; the base keeps the rest), " +
        "pissa-fast (the same from a randomized SVD, 16 iterations) or olora (A, B from W's QR). pissa, pissa-fast and olora save the adapter " +
        "converted to the original base (rank 2r).",
        RunChoices.Init, c => c.Init, (c, v) => c.Init = v);
    public static readonly RunSetting<bool> UseDora = Switch(LoraS, UseDoraFlag,
        "DoRA (Liu et al. 2024; PEFT's use_dora): also train a magnitude per output row over the row-normalised W + s*B*A.",
        c => c.UseDora, (c, v) => c.UseDora = v);

    public static readonly RunSetting<IReadOnlyDictionary<string, int>?> RankPattern = RankMap(LoraS, RankPatternFlag,
        "Per-module ranks over --rank, PEFT's rank_pattern: regexes matched against the end of a module path (layers\\.0\\.self_attn\\.q_proj=2,mlp=4); `loralab analyze --out` suggests one.",
        c => c.RankPattern, (c, v) => c.RankPattern = v);
    public static readonly RunSetting<IReadOnlyDictionary<string, double>?> AlphaPattern = NumberMap(LoraS, AlphaPatternFlag,
        "Per-module alphas over --alpha, PEFT's alpha_pattern, keyed like --rank-pattern; a module's scale is its alpha / its rank (`loralab analyze --out` suggests 2 × each patterned rank).",
        c => c.AlphaPattern, (c, v) => c.AlphaPattern = v, NumberRange.Positive);
    public static readonly RunSetting<int?> ReloraEvery = OptionalWhole(LoraS, ReloraEveryFlag,
        "ReLoRA (Lialin et al. 2023; --method lora): every K steps merge each adapter into its (fp32) base weight, re-initialise A (B = 0), " +
        "prune 99% of the adapters' optimizer moments and re-warm the learning rate over min(50, ⌈K/4⌉) steps. The output is the merged model (model/). Unset: off.",
        c => c.ReloraEvery, (c, v) => c.ReloraEvery = v, NumberRange.AtLeast(1));

    // optim
    public static readonly RunSetting<OptimizerKind> Optimizer = Choice(OptimS, OptimizerFlag, "adamw, adam or sgd.", RunChoices.Optimizer,
        c => c.Optimizer, (c, v) => c.Optimizer = v);
    public static readonly RunSetting<double> Lr = Number(OptimS, LrFlag, "Peak learning rate.", c => c.Lr, (c, v) => c.Lr = v, NumberRange.Positive);
    public static readonly RunSetting<double> WeightDecay = Number(OptimS, WeightDecayFlag, "Decoupled weight decay (AdamW) or L2 penalty (Adam, SGD).",
        c => c.WeightDecay, (c, v) => c.WeightDecay = v, NumberRange.NonNegative);
    public static readonly RunSetting<double> Momentum = Number(OptimS, MomentumFlag, "SGD momentum.", c => c.Momentum, (c, v) => c.Momentum = v, NumberRange.Fraction);
    public static readonly RunSetting<bool> Nesterov = Switch(OptimS, NesterovFlag, "Nesterov momentum for SGD.", c => c.Nesterov, (c, v) => c.Nesterov = v);
    public static readonly RunSetting<double> MaxGradNorm = Number(OptimS, MaxGradNormFlag, "Clip gradients to this global norm (0 = off).",
        c => c.MaxGradNorm, (c, v) => c.MaxGradNorm = v, NumberRange.NonNegative);
    public static readonly RunSetting<double?> LoraplusLrRatio = OptionalNumber(OptimS, LoraplusLrRatioFlag,
        "LoRA+ (Hayou et al. 2024; PEFT's create_loraplus_optimizer): lora_B weights (and other 1-D trained weights) learn at R × --lr, lora_A at --lr, under the same schedule. The paper suggests 16. Unset: off.",
        c => c.LoraplusLrRatio, (c, v) => c.LoraplusLrRatio = v, NumberRange.Positive);
    public static readonly RunSetting<int?> GaloreRank = OptionalWhole(OptimS, GaloreRankFlag,
        "GaLore (Zhao et al. 2024): the rank r each decoder projection's gradient is projected to (its top-r singular subspace); Adam's moments are r-wide. " +
        "Unset: hidden_size / 4. At most the smaller side of every projection.",
        c => c.GaloreRank, (c, v) => c.GaloreRank = v, NumberRange.AtLeast(1));
    public static readonly RunSetting<int> GaloreUpdateEvery = Whole(OptimS, GaloreUpdateEveryFlag,
        "GaLore: steps between recomputing each projection from the SVD of the current gradient (galore-torch's update_proj_gap).",
        c => c.GaloreUpdateEvery, (c, v) => c.GaloreUpdateEvery = v, NumberRange.AtLeast(1));
    public static readonly RunSetting<double> GaloreScale = Number(OptimS, GaloreScaleFlag,
        "GaLore: the projected-back Adam update of the projected weights is multiplied by this (galore-torch's scale, alpha in the paper).",
        c => c.GaloreScale, (c, v) => c.GaloreScale = v, NumberRange.Positive);

    // schedule
    public static readonly RunSetting<ScheduleKind> Schedule = Choice(ScheduleS, ScheduleFlag, "constant, linear or cosine, each after linear warmup.",
        RunChoices.Schedule, c => c.Schedule, (c, v) => c.Schedule = v);
    public static readonly RunSetting<int?> WarmupSteps = OptionalWhole(ScheduleS, WarmupStepsFlag, "Linear warmup steps (overrides --warmup-ratio).",
        c => c.WarmupSteps, (c, v) => c.WarmupSteps = v, NumberRange.AtLeast(0));
    public static readonly RunSetting<double?> WarmupRatio = OptionalNumber(ScheduleS, WarmupRatioFlag, "Warmup as a share of all steps (when --warmup-steps is not given).",
        c => c.WarmupRatio, (c, v) => c.WarmupRatio = v, new NumberRange(0, 1));
    public static readonly RunSetting<double> MinLr = Number(ScheduleS, MinLrFlag, "Floor of the linear/cosine decay.", c => c.MinLr, (c, v) => c.MinLr = v, NumberRange.NonNegative);

    // loop
    public static readonly RunSetting<int> BatchSize = Whole(LoopS, BatchSizeFlag, "Global batch size in examples.",
        c => c.BatchSize, (c, v) => c.BatchSize = v, NumberRange.AtLeast(1));
    public static readonly RunSetting<int> MicroBatchSize = Whole(LoopS, MicroBatchSizeFlag, "Examples per forward pass; gradients accumulate to --batch-size.",
        c => c.MicroBatchSize, (c, v) => c.MicroBatchSize = v, NumberRange.AtLeast(1));
    public static readonly RunSetting<int?> MaxSteps = OptionalWhole(LoopS, MaxStepsFlag, "Stop after N optimizer steps (overrides --epochs).",
        c => c.MaxSteps, (c, v) => c.MaxSteps = v, NumberRange.AtLeast(1));
    public static readonly RunSetting<int> Epochs = Whole(LoopS, EpochsFlag, "Passes over the data. More can overfit: watch val loss per epoch.",
        c => c.Epochs, (c, v) => c.Epochs = v, NumberRange.AtLeast(1));
    public static readonly RunSetting<int> Seed = Whole(LoopS, SeedFlag, "Fixes data order, initialisation and dropout.", c => c.Seed, (c, v) => c.Seed = v, null);
    public static readonly RunSetting<int> EvalEvery = Whole(LoopS, EvalEveryFlag, "Validation loss every N steps (and always at each epoch end).",
        c => c.EvalEvery, (c, v) => c.EvalEvery = v, NumberRange.AtLeast(0), learns: false);
    public static readonly RunSetting<int> SaveEvery = Whole(LoopS, SaveEveryFlag, "Checkpoint every N steps (and always at the end).",
        c => c.SaveEvery, (c, v) => c.SaveEvery = v, NumberRange.AtLeast(0), learns: false);
    public static readonly RunSetting<int?> SaveTotalLimit = OptionalWhole(LoopS, SaveTotalLimitFlag, "Keep only the newest N checkpoints (unset = all).",
        c => c.SaveTotalLimit, (c, v) => c.SaveTotalLimit = v, NumberRange.AtLeast(1), learns: false);
    public static readonly RunSetting<int> LogEvery = Whole(LoopS, LogEveryFlag, "Train loss to metrics.jsonl every N steps.",
        c => c.LogEvery, (c, v) => c.LogEvery = v, NumberRange.AtLeast(0), learns: false);
    public static readonly RunSetting<int> StopRatePrompts = Whole(LoopS, StopRatePromptsFlag,
        "After training, greedy-generate this many held-out prompts (0 = skip) and report how many stop, base vs tuned.",
        c => c.StopRatePrompts, (c, v) => c.StopRatePrompts = v, NumberRange.AtLeast(0), learns: false);

    // preference
    public static readonly RunSetting<double> Beta = Number(PreferenceS, BetaFlag,
        "DPO's beta: how far the policy may move from the reference (higher = closer); IPO's tau. Rewards are beta x the log-ratio.",
        c => c.Beta, (c, v) => c.Beta = v, NumberRange.Positive);
    public static readonly RunSetting<PreferenceLoss> Loss = Choice(PreferenceS, LossFlag, "Loss for --method dpo: sigmoid (DPO), ipo or hinge.",
        RunChoices.PreferenceLoss, c => c.Loss, (c, v) => c.Loss = v);
    public static readonly RunSetting<double> LabelSmoothing = Number(PreferenceS, LabelSmoothingFlag,
        "Conservative DPO (sigmoid loss): the share of pairs assumed mislabelled, below 0.5.",
        c => c.LabelSmoothing, (c, v) => c.LabelSmoothing = v, new NumberRange(0, 0.5, MaxOpen: true));
    public static readonly RunSetting<double> OrpoAlpha = Number(PreferenceS, OrpoAlphaFlag, "ORPO's lambda: weight of the odds-ratio term beside the chosen answers' NLL.",
        c => c.OrpoAlpha, (c, v) => c.OrpoAlpha = v, NumberRange.Positive);
    public static readonly RunSetting<int?> MaxPromptLength = OptionalWhole(PreferenceS, MaxPromptLengthFlag,
        "Prompt tokens kept, from the end (TRL's keep_end); unset = half of --max-seq-length. Completions are cut to fit --max-seq-length.",
        c => c.MaxPromptLength, (c, v) => c.MaxPromptLength = v, NumberRange.AtLeast(1));
    public static readonly RunSetting<string?> RefAdapter = Path(PreferenceS, RefAdapterFlag,
        "A supervised LoRA adapter (PEFT; a " + FolderOrHubIdHelp + ") as both the policy's starting point and the frozen reference (its r, alpha and targets are used).",
        c => c.RefAdapter, (c, v) => c.RefAdapter = v);
    public static readonly RunSetting<bool> PrecomputeRef = Switch(PreferenceS, PrecomputeRefFlag,
        "Compute the reference's log-probabilities once before training (one forward pass fewer per step; the same numbers).",
        c => c.PrecomputeRef, (c, v) => c.PrecomputeRef = v, learns: false);

    // output
    public static readonly RunSetting<string?> Out = Path(OutputS, OutFlag, "Output folder: adapter/, checkpoints/, metrics.jsonl, run.yaml.",
        c => c.Out, (c, v) => c.Out = v, learns: false);

    /// In the order run.yaml has always written them (inputs first, LoRA and runtime last).
    public static readonly IReadOnlyList<IRunSetting> All =
    [
        Model, Data, ValData, MaxRecordBytes, EncodingErrors, Out, Method, Device, Precision, Template, MaxSeqLength, LongExamples,
        TrainOnInputs, Packing, ValFraction, Lr, BatchSize, MicroBatchSize, MaxSteps, Epochs, Seed, Optimizer, WeightDecay, Momentum,
        Nesterov, Schedule, WarmupSteps, WarmupRatio, MinLr, MaxGradNorm, EvalEvery, SaveEvery, SaveTotalLimit, LogEvery,
        R, Alpha, LoraDropout, Targets, LoraHead, UseRslora, UseDora, Init, RankPattern, AlphaPattern, Quantize, Threads, Streams, Distributed, DistributedTimeout, StopRatePrompts,
        Beta, Loss, LabelSmoothing, OrpoAlpha, MaxPromptLength, RefAdapter, PrecomputeRef, LoraplusLrRatio, ReloraEvery,
        GaloreRank, GaloreUpdateEvery, GaloreScale,
    ];

    public static readonly IReadOnlyDictionary<string, IRunSetting> ByKey = All.ToDictionary(s => s.Key);

    public static IEnumerable<string> Sections => All.Select(s => s.Section).Distinct();

    static readonly IRunSetting[] DpoOnly = [Beta, Loss, LabelSmoothing, RefAdapter, PrecomputeRef];
    /// What only next-token training reads: how examples are cut, packed and masked, and the stop-rate check.
    static readonly IRunSetting[] SupervisedOnly = [LongExamples, TrainOnInputs, Packing, StopRatePrompts];
    /// What only GaLore's optimizer reads.
    static readonly IRunSetting[] GaloreOnly = [GaloreRank, GaloreUpdateEvery, GaloreScale];

    /// Whether `method` reads setting `s`: the preference settings only for dpo/orpo (ORPO has no reference, no DPO
    /// loss and no beta; only ORPO has a lambda), the example settings only for supervised runs, the GaLore settings
    /// only for galore. run.yaml writes only these, and a given one that does not apply is refused (AppliesToWhat says to what).
    public static bool AppliesTo(IRunSetting s, TrainMethod method) => SupervisedOnly.Contains(s) ? method is not (TrainMethod.Dpo or TrainMethod.Orpo)
        : GaloreOnly.Contains(s) ? method == TrainMethod.Galore
        : s.Section != Beta.Section || (method == TrainMethod.Dpo && s != OrpoAlpha) || (method == TrainMethod.Orpo && !DpoOnly.Contains(s));

    /// The methods setting `s` applies to, for its refusal in a run of `method`.
    public static string AppliesToWhat(IRunSetting s, TrainMethod method) => SupervisedOnly.Contains(s) ? "--method lora, qlora, full or galore only"
        : GaloreOnly.Contains(s) ? "--method galore only"
        : s == OrpoAlpha ? "--method orpo only"
        : DpoOnly.Contains(s) ? "--method dpo only" + (method != TrainMethod.Orpo ? "" : s == Beta ? " (ORPO's weight is --orpo-alpha)" : " (ORPO has no reference)")
        : "--method dpo or orpo only";

    /// The setting a key path names: `lora.r` or the bare key `r`; an unknown one is refused with the nearest key.
    public static IRunSetting Find(string keyPath)
    {
        var parts = keyPath.Trim().Split('.');
        if (parts.Length <= 2 && ByKey.TryGetValue(parts[^1], out var s))
        {
            if (parts.Length == 1 || parts[0] == s.Section) return s;
            throw new UserException($"unknown setting '{keyPath}' (did you mean '{s.Section}.{s.Key}'?)");
        }
        var paths = All.Select(x => $"{x.Section}.{x.Key}").Concat(All.Select(x => x.Key)).ToList();
        var near = ClosestName.For(keyPath.Trim(), paths);
        throw new UserException($"unknown setting '{keyPath}'" + (near is null ? "" : $" (did you mean '{near}'?)"));
    }

    internal static string Invariant(double d) => d.ToString("R", CultureInfo.InvariantCulture);
}
