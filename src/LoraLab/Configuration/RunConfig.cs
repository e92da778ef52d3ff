using LoraLab.Adapters.Quantization;
using LoraLab.Data;
using LoraLab.Training;

namespace LoraLab.Configuration;

/// Everything one training run is made of, typed, with every default declared here and nowhere else. Read from
/// YAML and flags through RunSettings (which also spells each key, flag and range), validated by Validate, written
/// beside the outputs as run.yaml. Null means "unset" where a setting has no default.
public sealed class RunConfig
{
    // base
    public string? Model { get; set; }
    public TrainMethod Method { get; set; } = TrainMethod.Lora;
    public Precision Precision { get; set; } = Precision.Auto;
    /// Base storage for QLoRA as given; null = BaseQuantization's nf4 (and refused for the other methods).
    public QuantScheme? Quantize { get; set; }
    /// How a QLoRA base is stored: Quantize, or nf4 when it is not given.
    public QuantScheme BaseQuantization => Quantize ?? QuantScheme.Nf4;
    /// Preference tuning (DPO, ORPO): a LoRA adapter trained on chosen/rejected pairs.
    public bool IsPreference => Method is TrainMethod.Dpo or TrainMethod.Orpo;
    /// The base is stored quantized: QLoRA, or preference tuning given --quantize (QLoRA-style DPO).
    public bool QuantizedBase => Method == TrainMethod.Qlora || (IsPreference && Quantize is not null);
    // runtime
    public string Device { get; set; } = "auto";
    /// libtorch threads; null = the physical cores.
    public int? Threads { get; set; }
    /// Single-threaded slices each micro-batch is split into on the CPU (1 = off; LoRA/QLoRA without dropout).
    public int Streams { get; set; } = 1;
    /// Data-parallel training over the ranks of an `mpirun` job (none: this process alone).
    public DistributedMode Distributed { get; set; } = DistributedMode.None;
    /// Seconds a rank waits for the others in one exchange before it ends the job (a rank died or hangs).
    public int DistributedTimeout { get; set; } = 300;

    // dataset
    public string? Data { get; set; }
    public string? ValData { get; set; }
    public long MaxRecordBytes { get; set; } = DataReadOptions.DefaultMaxRecordBytes;
    public EncodingErrors EncodingErrors { get; set; } = EncodingErrors.Strict;
    public string Template { get; set; } = "alpaca";
    public int MaxSeqLength { get; set; } = 512;
    public LongExamplePolicy LongExamples { get; set; } = LongExamplePolicy.Truncate;
    public bool TrainOnInputs { get; set; }
    public bool Packing { get; set; }
    public double ValFraction { get; set; } = 0.05;

    // lora
    public int R { get; set; } = 8;
    public double Alpha { get; set; } = 16;
    public double LoraDropout { get; set; } = 0.05;
    public string Targets { get; set; } = "all";
    public bool LoraHead { get; set; }
    public bool UseRslora { get; set; }
    public bool UseDora { get; set; }
    public Adapters.LoraInit Init { get; set; } = Adapters.LoraInit.Kaiming;
    /// Per-module ranks over R (PEFT's rank_pattern: the first regex key matching the end of a module path wins); null = none.
    public IReadOnlyDictionary<string, int>? RankPattern { get; set; }
    /// Per-module alphas over Alpha (PEFT's alpha_pattern, keys matched like RankPattern's); null = none.
    public IReadOnlyDictionary<string, double>? AlphaPattern { get; set; }
    /// ReLoRA: merge the adapters into the base and restart them every this many optimizer steps; null = off.
    public int? ReloraEvery { get; set; }

    // optim
    public OptimizerKind Optimizer { get; set; } = OptimizerKind.AdamW;
    /// LoRA+: lora_B's learning rate over lora_A's; null = off (one learning rate).
    public double? LoraplusLrRatio { get; set; }
    /// GaLore's projection rank; null = hidden_size / 4 (RunSetup.ResolveGalore fills it in from the model).
    public int? GaloreRank { get; set; }
    /// GaLore: steps between projection refreshes (galore-torch's update_proj_gap and default).
    public int GaloreUpdateEvery { get; set; } = 200;
    /// GaLore: factor on the projected-back update (galore-torch's README's 0.25).
    public double GaloreScale { get; set; } = 0.25;
    public double Lr { get; set; } = 3e-4;
    public double WeightDecay { get; set; }
    public double Momentum { get; set; } = 0.9;
    public bool Nesterov { get; set; }
    /// Global gradient-norm clip; 0 = off.
    public double MaxGradNorm { get; set; } = 1.0;

    // schedule
    public ScheduleKind Schedule { get; set; } = ScheduleKind.Cosine;
    /// Linear warmup steps; overrides WarmupRatio.
    public int? WarmupSteps { get; set; }
    public double? WarmupRatio { get; set; }
    public double MinLr { get; set; }

    // loop
    public int BatchSize { get; set; } = 16;
    public int MicroBatchSize { get; set; } = 4;
    /// Optimizer steps; null = Epochs passes over the data.
    public int? MaxSteps { get; set; }
    public int Epochs { get; set; } = 1;
    public int Seed { get; set; } = 42;
    /// Intervals in steps: 0 = at epoch ends only (eval), at the end only (save), every step (log).
    public int EvalEvery { get; set; }
    public int SaveEvery { get; set; }
    /// Checkpoints kept (the newest); null keeps all, as Hugging Face's Trainer does.
    public int? SaveTotalLimit { get; set; }
    public int LogEvery { get; set; } = 1;
    /// Held-out prompts whose greedy generations are checked for stopping after training (0 = skip).
    public int StopRatePrompts { get; set; } = Evaluation.StopRate.DefaultPrompts;

    // preference (--method dpo / orpo)
    /// DPO's β (TRL's default); IPO's τ.
    public double Beta { get; set; } = 0.1;
    public PreferenceLoss Loss { get; set; } = PreferenceLoss.Sigmoid;
    /// Conservative DPO's ε: the share of pairs assumed mislabelled (sigmoid loss only).
    public double LabelSmoothing { get; set; }
    /// ORPO's λ, the weight of the odds-ratio term beside the chosen completions' NLL (TRL's default 0.1).
    public double OrpoAlpha { get; set; } = 0.1;
    /// Prompt tokens kept (the end); null = half of MaxSeqLength.
    public int? MaxPromptLength { get; set; }
    public int PromptLimit => MaxPromptLength ?? LoraLab.Data.Preferences.PreferenceEncoder.DefaultMaxPromptLength(MaxSeqLength);
    /// A supervised adapter: the policy's starting point and the frozen reference; null = a fresh adapter, the base as reference.
    public string? RefAdapter { get; set; }
    /// Compute the reference's log-probabilities once before training instead of in every step.
    public bool PrecomputeRef { get; set; }

    // output
    public string? Out { get; set; }

    /// What the run did (RunRecord), kept in run.yaml beside the settings; never a setting.
    public RunPlan? Ran { get; set; }
    public List<ResumeRecord>? Resumed { get; set; }

    /// Where each setting given (not defaulted) came from: `--lr`, or `run.yaml:3: lr`, for messages.
    public Dictionary<string, string> Origins { get; private set; } = new();

    public int AccumulationSteps => BatchSize / MicroBatchSize;

    public RunConfig Clone()
    {
        var c = (RunConfig)MemberwiseClone();
        c.Origins = new Dictionary<string, string>(Origins);
        c.Resumed = Resumed?.ToList();
        return c;
    }

    /// A copy with `layers` applied in order (later layers win), the micro-batch fitted to the batch when not given.
    public RunConfig With(params SettingLayer[] layers)
    {
        var c = Clone();
        foreach (var layer in layers) layer.ApplyTo(c);
        c.FitMicroBatch();
        return c;
    }

    /// `--batch-size 6` alone must not fail on the default micro-batch (4): when the micro-batch was not given, it is
    /// the largest divisor of the batch that is at most what it was. Only a given pair that does not divide is an error.
    void FitMicroBatch()
    {
        if (Origins.ContainsKey(RunSettings.MicroBatchSize.Key) || BatchSize < 1 || MicroBatchSize < 1 || BatchSize % MicroBatchSize == 0) return;
        MicroBatchSize = Enumerable.Range(1, Math.Min(MicroBatchSize, BatchSize)).Last(d => BatchSize % d == 0);
    }

    /// How messages name setting `s` of this config: where its value came from, or its flag.
    public string NameOf(IRunSetting s) => Origins.TryGetValue(s.Key, out var origin) ? origin : s.Flag;

    /// Sets one setting by key path (`lora.r`, or the bare key `r`) from text: the sweep's and `--set`'s entry point.
    public void Set(string keyPath, string text, string? origin = null)
    {
        var s = RunSettings.Find(keyPath);
        new SettingLayer().Parse(s, text, origin ?? keyPath).ApplyTo(this);
    }

    /// The defaults with a YAML file's settings over them (and, from a run.yaml, what the run did).
    public static RunConfig LoadYaml(string path)
    {
        var read = RunConfigYaml.Load(path);
        var c = new RunConfig().With(read.Settings);
        c.Ran = read.Ran;
        c.Resumed = read.Resumed;
        return c;
    }

    public string ToYaml() => RunConfigYaml.Write(this);

    /// Only the settings given (Origins), as a config for `train --config` that leaves the rest to train's own defaults
    /// and derivations: a sweep's run, which must not pin a value the run derives (a --ref-adapter's r and alpha).
    public string ToGivenYaml() => RunConfigYaml.Write(this, givenOnly: true);

    /// Every bad setting at once, each named as it was given; throws one UserException listing them.
    /// `inputs`: model, data and out must be set (a `train` run; the demo and pretraining pass their own).
    public void Validate(bool inputs = true) => RunConfigChecks.Validate(this, inputs);
}
