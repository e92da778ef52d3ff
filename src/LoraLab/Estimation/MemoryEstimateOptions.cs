namespace LoraLab.Estimation;

/// The run whose memory `loralab estimate` predicts: method, adapter, batch shape, precision and device.
public sealed record MemoryEstimateOptions
{
    /// Train's defaults for the settings both share (RunConfig declares them).
    static readonly Configuration.RunConfig Run = new();

    public string Method { get; init; } = Configuration.RunChoices.Method.NameOf(Run.Method);
    public string Targets { get; init; } = Run.Targets;
    public int R { get; init; } = Run.R;
    /// DoRA: a magnitude vector per adapted module, and its rescaled output kept for backward.
    public bool Dora { get; init; } = Run.UseDora;
    /// GaLore's projection rank; null = hidden_size / 4 (train's default).
    public int? GaloreRank { get; init; }
    public int Batch { get; init; } = 1;
    public int Seq { get; init; } = Run.MaxSeqLength;
    /// Compute dtype (activations, and the weights of LoRA and QLoRA; full fine-tuning keeps fp32 weights): fp32, bf16 or fp16.
    public string Precision { get; init; } = "fp32";
    /// QLoRA storage scheme.
    public string Quantize { get; init; } = Configuration.RunChoices.Quantize.NameOf(Run.BaseQuantization);
    /// "cpu" (resident memory of the process) or "cuda" (tensor memory, as torch.cuda.max_memory_allocated).
    public string Device { get; init; } = "cpu";
    public bool GradCheckpointing { get; init; }

    /// The method spellings are the run setting's (RunChoices.Method), of the next-token methods the estimate models.
    public static readonly string[] Methods = [.. Configuration.RunChoices.Supervised.Select(Configuration.RunChoices.Method.NameOf)];

    public int DtypeBytes => Precision switch
    {
        "fp32" => 4,
        "bf16" or "fp16" => 2,
        _ => throw new UserException($"--precision: '{Precision}' is not fp32, bf16 or fp16"),
    };

    public void Validate()
    {
        if (!Methods.Contains(Method)) throw new UserException($"--method: unknown method '{Method}' (use {string.Join(", ", Methods)})");
        if (Batch < 1) throw new UserException("--micro-batch-size must be at least 1");
        if (Seq < 2) throw new UserException("--max-seq-length must be at least 2");
        if (R < 1) throw new UserException("--rank must be at least 1");
        if (Dora && Method is "full" or "galore") throw new UserException($"--dora adds a magnitude vector to each LoRA adapter; --method {Method} trains no adapter");
        Configuration.RunSettings.GaloreRank.Check(Configuration.RunSettings.GaloreRank.Flag, GaloreRank);
        if (Device is not ("cpu" or "cuda")) throw new UserException($"--device: '{Device}' is not cpu or cuda");
        _ = DtypeBytes;
    }
}
