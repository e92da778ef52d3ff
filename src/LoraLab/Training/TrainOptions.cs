namespace LoraLab.Training;

/// The loop's hyperparameters (the data and model parts of a run live in RunConfig).
public sealed record TrainOptions
{
    public double Lr { get; init; } = 3e-4;
    public int BatchSize { get; init; } = 16;
    public int MicroBatchSize { get; init; } = 4;
    public int? MaxSteps { get; init; }
    public int Epochs { get; init; } = 1;
    public int Seed { get; init; } = 42;
    public string Optimizer { get; init; } = "adamw";
    public double WeightDecay { get; init; } = 0.0;
    public double Momentum { get; init; } = 0.9;
    public bool Nesterov { get; init; }
    public string Schedule { get; init; } = "cosine";
    public int? WarmupSteps { get; init; }
    public double? WarmupRatio { get; init; }
    public double MinLr { get; init; }
    public double MaxGradNorm { get; init; } = 1.0;
    public int EvalEvery { get; init; }
    public int SaveEvery { get; init; }
    /// Checkpoints kept (the newest); null keeps all, as Hugging Face's Trainer does.
    public int? SaveTotalLimit { get; init; }
    public int LogEvery { get; init; } = 1;
    /// Single-threaded slices per micro-batch (TrainingStep); 1 = off.
    public int Streams { get; init; } = 1;

    public int AccumulationSteps => BatchSize / MicroBatchSize;

    public void Validate()
    {
        foreach (var p in typeof(TrainOptions).GetProperties())
            if (SettingRanges.For(p.Name) is { } range && p.GetValue(this) is { } v)
                range.Check(RunConfig.FlagName(p.Name), Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture));
        if (BatchSize < MicroBatchSize || BatchSize % MicroBatchSize != 0)
            throw new UserException($"--batch-size ({BatchSize}) must be a multiple of --micro-batch-size ({MicroBatchSize})");
        if (!OptimizerFactory.Names.Contains(Optimizer))
            throw new UserException($"unknown optimizer '{Optimizer}' (available: {string.Join(", ", OptimizerFactory.Names)})");
        if (!LrSchedule.Kinds.Contains(Schedule))
            throw new UserException($"unknown schedule '{Schedule}' (available: {string.Join(", ", LrSchedule.Kinds)})");
    }
}
