namespace LoraLab.Benchmarks;

/// What `loralab bench` times: an architecture, a fine-tuning method and a batch shape, on random tokens.
public sealed record BenchOptions
{
    /// A known config name (`small`, `medium`, ...) or a config.json path.
    public string Config { get; init; } = "small";
    /// Train's defaults for the settings both share (RunConfig declares them).
    static readonly Configuration.RunConfig Run = new();

    public string Method { get; init; } = Configuration.RunChoices.Method.NameOf(Run.Method);
    /// LoRA targets (`all`, `qv`, module names); ignored for full fine-tuning.
    public string Targets { get; init; } = Run.Targets;
    public int R { get; init; } = Run.R;
    /// DoRA adapters (a magnitude vector per module).
    public bool Dora { get; init; } = Run.UseDora;
    /// LoRA alpha; null = 2r (the peer's choice).
    public double? Alpha { get; init; }
    /// GaLore's rank (null = hidden_size / 4), projection refresh interval and scale, as train's.
    public int? GaloreRank { get; init; }
    public int GaloreUpdateEvery { get; init; } = Run.GaloreUpdateEvery;
    public double GaloreScale { get; init; } = Run.GaloreScale;
    /// QLoRA storage scheme (nf4, fp4, int8).
    public string Quantize { get; init; } = Configuration.RunChoices.Quantize.NameOf(Run.BaseQuantization);
    public int Batch { get; init; } = 4;
    public int Seq { get; init; } = 256;
    /// Timed steps after warm-up.
    public int Steps { get; init; } = 5;
    public int Warmup { get; init; } = 2;
    /// Share of each row's predictions masked as a prompt (labels −100), as instruction data masks its prompts: the
    /// output layer then runs on the rest only. 0 = every position is a target.
    public double PromptFraction { get; init; }
    /// libtorch threads; null = physical cores.
    public int? Threads { get; init; }
    public bool GradCheckpointing { get; init; }
    /// Single-threaded slices each micro-batch is split into (TrainingStep's streams); 1 = off.
    public int Streams { get; init; } = 1;
    public string Device { get; init; } = "cpu";
    /// Compute dtype: auto (train's default: ComputePrecision decides), fp32 or bf16.
    public string Precision { get; init; } = Configuration.RunChoices.Precision.NameOf(Run.Precision);
    public int Seed { get; init; }
    /// After the timed steps, as many again with every region marked (Diagnostics.Profiling), for where the time goes.
    public bool Profile { get; init; }
    public const string ProfileFlag = "--profile";
    /// Optimizer steps at which the peak resident memory is also recorded (for the flat-memory check).
    public IReadOnlyList<int> MemoryAt { get; init; } = Array.Empty<int>();

    /// The method spellings are the run setting's (RunChoices.Method), of the next-token methods a step measures.
    public static readonly string[] Methods = [.. Configuration.RunChoices.Supervised.Select(Configuration.RunChoices.Method.NameOf)];

    public void Validate()
    {
        if (!Methods.Contains(Method)) throw new UserException($"--method: unknown method '{Method}' (use {string.Join(", ", Methods)})");
        if (Dora && Method is "full" or "galore") throw new UserException($"--dora adds a magnitude vector to each LoRA adapter; --method {Method} trains no adapter");
        if (Batch < 1) throw new UserException("--batch-size must be at least 1");
        if (Seq < 2) throw new UserException("--max-seq-length must be at least 2 (one prediction needs two tokens)");
        if (Steps < 1) throw new UserException("--max-steps must be at least 1");
        if (Warmup < 0) throw new UserException("--warmup must be >= 0");
        if (!(PromptFraction >= 0 && PromptFraction < 1)) throw new UserException($"--prompt-fraction must be in [0, 1), got {PromptFraction}");
        LoraLab.Configuration.RunSettings.R.Check("--rank", R);
        LoraLab.Configuration.RunSettings.Alpha.Check("--alpha", Alpha);
        LoraLab.Configuration.RunSettings.GaloreRank.Check(LoraLab.Configuration.RunSettings.GaloreRank.Flag, GaloreRank);
        LoraLab.Configuration.RunSettings.GaloreUpdateEvery.Check(LoraLab.Configuration.RunSettings.GaloreUpdateEvery.Flag, GaloreUpdateEvery);
        LoraLab.Configuration.RunSettings.GaloreScale.Check(LoraLab.Configuration.RunSettings.GaloreScale.Flag, GaloreScale);
        Runtime.TorchRuntime.ThreadRange.Check("--threads", Threads);
        Training.TrainingStep.CheckStreams(Streams, Method, 0);
        if (Profile && Streams > 1) throw new UserException($"{ProfileFlag}: marks one thread's regions; use --streams 1 (got --streams {Streams})");
        if (Profile && Device != "cpu") throw new UserException($"{ProfileFlag} times operations on the CPU only (GPU work runs asynchronously); got --device {Device}");
        if (Precision is not ("auto" or "fp32" or "bf16")) throw new UserException($"--precision: '{Precision}' is not auto, fp32 or bf16");
    }

    /// The benchmark as a run config, for the setup steps train uses (RunSetup): AdamW at 3e-4 with weight decay
    /// 0.01, clipping at 1.0, LoRA without dropout and alpha = 2r unless given (the peer's choices); GaLore's rank is
    /// filled in from the architecture by RunSetup.ResolveGalore.
    public Configuration.RunConfig ToRunConfig() => new()
    {
        Method = Configuration.RunChoices.Method.TryParse(Method, out var m) ? m : throw new InvalidOperationException("Validate() refuses an unknown method first"),
        R = R, Alpha = Alpha ?? 2.0 * R, LoraDropout = 0, Targets = Targets, UseDora = Dora,
        Quantize = Method != "qlora" ? null : Adapters.Quantization.QuantSchemes.Parse(Quantize),
        Device = Device, Precision = Configuration.RunChoices.Precision.TryParse(Precision, out var p) ? p : throw new InvalidOperationException("Validate() refuses an unknown precision first"), Seed = Seed,
        Threads = Threads, Streams = Streams, Optimizer = Configuration.OptimizerKind.AdamW, Lr = 3e-4, WeightDecay = 0.01, MaxGradNorm = 1.0,
        GaloreRank = GaloreRank, GaloreUpdateEvery = GaloreUpdateEvery, GaloreScale = GaloreScale,
    };
}
