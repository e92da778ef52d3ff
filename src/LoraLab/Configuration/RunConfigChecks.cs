using LoraLab.Data;
using LoraLab.Training;

namespace LoraLab.Configuration;

/// RunConfig.Validate: every range and every rule between settings, all reported at once, each named as given.
static class RunConfigChecks
{
    public static void Validate(RunConfig c, bool inputs)
    {
        var errors = new List<string>();
        foreach (var s in RunSettings.All)
            if (s.RangeError(s.Get(c)) is { } why) errors.Add($"{c.NameOf(s)} {why}");
        if (inputs)
        {
            if (string.IsNullOrWhiteSpace(c.Model)) errors.Add($"{RunSettings.Model.Flag} is required (a Hugging Face model folder)");
            if (string.IsNullOrWhiteSpace(c.Data))
                errors.Add($"{RunSettings.Data.Flag} is required ({(c.IsPreference ? "preference pairs: prompt, chosen, rejected" : "Alpaca/chat/text")} JSON, JSONL or Parquet)");
            if (string.IsNullOrWhiteSpace(c.Out)) errors.Add($"{RunSettings.Out.Flag} is required (a folder for the adapter, checkpoints and metrics)");
        }
        if (c.BatchSize >= 1 && c.MicroBatchSize >= 1 && (c.BatchSize < c.MicroBatchSize || c.BatchSize % c.MicroBatchSize != 0))
            errors.Add($"{c.NameOf(RunSettings.BatchSize)} ({c.BatchSize}) must be a multiple of {c.NameOf(RunSettings.MicroBatchSize)} ({c.MicroBatchSize})");
        string method = RunChoices.Method.NameOf(c.Method);
        if (c.Precision == Precision.Fp16Mixed && c.Method.TrainsEveryWeight())
            errors.Add($"{c.NameOf(RunSettings.Precision)} fp16-mixed keeps fp32 weights only for adapters; for --method {method} use fp32 or bf16");
        if (c.LoraplusLrRatio is not null && c.Method.TrainsEveryWeight())
            errors.Add($"{c.NameOf(RunSettings.LoraplusLrRatio)} sets lora_B's learning rate; --method {method} trains no adapter");
        // GaLore projects Adam's moments; the projected update is AdamW's (galore-torch's GaLoreAdamW).
        if (c.Method == TrainMethod.Galore && c.Optimizer != OptimizerKind.AdamW)
            errors.Add($"{c.NameOf(RunSettings.Optimizer)} {RunChoices.Optimizer.NameOf(c.Optimizer)}: --method galore projects AdamW's moments; use --optimizer adamw");
        if (c.UseDora && c.Method.TrainsEveryWeight())
            errors.Add($"{c.NameOf(RunSettings.UseDora)} adds a magnitude vector to each LoRA adapter; --method {method} trains no adapter");
        if (c.Init != Adapters.LoraInit.Kaiming && c.Method.TrainsEveryWeight())
            errors.Add($"{c.NameOf(RunSettings.Init)} initialises LoRA adapters; --method {method} trains no adapter");
        // DPO's reference and the stop-rate's "base" are the model with its adapters off, which after these inits is the residual
        if (Adapters.LoraInits.ChangesBase(c.Init) && c.IsPreference)
            errors.Add($"{c.NameOf(RunSettings.Init)} {RunChoices.Init.NameOf(c.Init)} leaves the base as W − s·B₀·A₀, but --method {method} needs the base itself with the adapters off (the reference, or the starting adapter); use --init kaiming or gaussian");
        if (Adapters.LoraInits.ChangesBase(c.Init) && c.QuantizedBase && !c.IsPreference)
            errors.Add($"{c.NameOf(RunSettings.Init)} {RunChoices.Init.NameOf(c.Init)} moves part of each base weight into the adapter, which needs a dense base; --method {RunChoices.Method.NameOf(c.Method)} keeps it quantized (use --method lora)");
        if (Adapters.LoraInits.ChangesBase(c.Init) && c.UseDora)
            errors.Add($"{c.NameOf(RunSettings.Init)} {RunChoices.Init.NameOf(c.Init)} with {c.NameOf(RunSettings.UseDora)}: a DoRA adapter over a residual base cannot be converted back to the original base; use one or the other");
        if (c.ReloraEvery is not null && c.Method != TrainMethod.Lora) errors.Add($"{c.NameOf(RunSettings.ReloraEvery)} {ReloraRefusal(c.Method)}");
        if (c.ReloraEvery is not null && Adapters.LoraInits.ChangesBase(c.Init))
            errors.Add($"{c.NameOf(RunSettings.ReloraEvery)} with {c.NameOf(RunSettings.Init)} {RunChoices.Init.NameOf(c.Init)}: each restart draws a fresh A with B = 0 (kaiming or gaussian); use one or the other");
        if (c.Quantize is not null && c.Method != TrainMethod.Qlora && !c.IsPreference)
            errors.Add($"{c.NameOf(RunSettings.Quantize)} applies to --method qlora, dpo and orpo only");
        PreferenceChecks(c, errors);
        if (RunSettings.Streams.RangeError(c.Streams) is null
            && TrainingStep.StreamsRefusal(c.Streams, method, c.LoraDropout) is { } refusal)
            errors.Add($"{c.NameOf(RunSettings.Streams)} {c.Streams}: {refusal}; use --streams 1");
        if (!c.Template.Trim().Equals("auto", StringComparison.OrdinalIgnoreCase))
            Collect(errors, c.NameOf(RunSettings.Template), () => PromptTemplate.Get(c.Template));
        if (!c.Method.TrainsEveryWeight()) Collect(errors, c.NameOf(RunSettings.Targets), () => Adapters.LoraTargets.Parse(c.Targets, c.LoraHead));
        if (c.RankPattern is { } pattern && RunSettings.RankPattern.RangeError(pattern) is null)
            Collect(errors, c.NameOf(RunSettings.RankPattern), () => new Adapters.LoraConfig { RankPattern = pattern }.Validate("rank_pattern"));
        if (c.AlphaPattern is { } alphas && RunSettings.AlphaPattern.RangeError(alphas) is null)
            Collect(errors, c.NameOf(RunSettings.AlphaPattern), () => new Adapters.LoraConfig { AlphaPattern = alphas }.Validate("alpha_pattern"));

        if (errors.Count == 1) throw new UserException(errors[0]);
        if (errors.Count > 1) throw new UserException($"{errors.Count} settings are invalid: {string.Join("; ", errors)}");
    }

    /// Preference settings given to a method that would ignore them are refused, not silently dropped.
    static void PreferenceChecks(RunConfig c, List<string> errors)
    {
        foreach (var s in RunSettings.All.Where(s => c.Origins.ContainsKey(s.Key) && !RunSettings.AppliesTo(s, c.Method)))
            errors.Add($"{c.NameOf(s)} applies to {RunSettings.AppliesToWhat(s, c.Method)}");
        if (c.IsPreference && c.Streams > 1) errors.Add($"{c.NameOf(RunSettings.Streams)} {c.Streams}: preference runs run one stream; use --streams 1");
        if (c.IsPreference && c.Distributed != DistributedMode.None)
            errors.Add($"{c.NameOf(RunSettings.Distributed)} {RunChoices.Distributed.NameOf(c.Distributed)}: preference runs (dpo, orpo) train on one process; use --distributed none");
        if (c.IsPreference && c.Loss != PreferenceLoss.Sigmoid && c.LabelSmoothing > 0)
            errors.Add($"{c.NameOf(RunSettings.LabelSmoothing)} applies to the sigmoid loss only (--loss {RunChoices.PreferenceLoss.NameOf(c.Loss)})");
        if (c.IsPreference && c.MaxSeqLength >= 8 && c.PromptLimit >= c.MaxSeqLength)
            errors.Add($"{c.NameOf(RunSettings.MaxPromptLength)} ({c.PromptLimit}) must be below {c.NameOf(RunSettings.MaxSeqLength)} ({c.MaxSeqLength}): the completions need room");
    }

    /// Why ReLoRA's restarts cannot run under `method` (they merge each adapter into its dense base weight).
    static string ReloraRefusal(TrainMethod method) => method switch
    {
        TrainMethod.Full => "merges LoRA adapters into the base; --method full trains no adapter",
        // Re-quantizing after each merge would round most of the merged update away (it is far below a 4-bit step).
        TrainMethod.Qlora => "merges each adapter into its base weight, which a 4-bit base cannot hold without rounding the update away; use --method lora",
        _ => "applies to --method lora only: dpo and orpo keep the base as their reference, which a merge would change",
    };

    /// A check that throws its refusal, as one more entry of the list, after the name of the setting it checks.
    static void Collect(List<string> errors, string name, Action check)
    {
        try { check(); }
        catch (UserException e) { errors.Add($"{name}: {e.Message}"); }
    }
}
