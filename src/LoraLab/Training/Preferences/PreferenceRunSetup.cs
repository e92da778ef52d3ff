using LoraLab.Adapters;
using LoraLab.Configuration;
using LoraLab.Data;
using LoraLab.Data.Preferences;
using LoraLab.Models;
using LoraLab.Tokenization;
using Parameter = TorchSharp.Modules.Parameter;

namespace LoraLab.Training.Preferences;

/// The preference data a run trains and validates on: the encoded pairs and the held-out records.
public sealed record PreferenceData(PreferenceSet Train, PreferenceSet? Validation, IReadOnlyList<PreferenceRecord> ValidationRecords);

/// The steps a preference run (--method dpo / orpo) adds to RunSetup's: its data read as pairs, a supervised reference
/// adapter adopted, the reference log-probabilities computed up front when asked, and the objective.
public static class PreferenceRunSetup
{
    /// The pair files, read (and checked) before the model loads; an SFT file gets a message that says so.
    public static (IReadOnlyList<PreferenceRecord> Train, IReadOnlyList<PreferenceRecord>? Validation) LoadData(RunConfig c)
    {
        var options = DataReadOptions.From(c.MaxRecordBytes, c.EncodingErrors);
        return (Read(c.Data!, options, c), c.ValData is null ? null : Read(c.ValData, options, c));
    }

    static IReadOnlyList<PreferenceRecord> Read(string path, DataReadOptions options, RunConfig c)
    {
        if (File.Exists(path) && !PreferenceReader.IsPreferenceFile(path, options))
            throw new UserException($"{path}: --method {RunChoices.Method.NameOf(c.Method)} trains on preference pairs (prompt, chosen, rejected), " +
                                    "and this file's first record is not one; for supervised data use --method lora");
        return PreferenceReader.Load(path, options);
    }

    /// With --ref-adapter the run's LoRA shape is the adapter's own (r, alpha, targets, patterns), recorded in run.yaml;
    /// a LoRA shape setting given beside it with another value would be ignored, so it is refused.
    public static void AdoptReferenceShape(RunConfig c)
    {
        if (c.RefAdapter is null) return;
        var a = PeftFormat.ReadConfig(Hub.ModelSource.Resolve(c.RefAdapter));
        if (a.TargetRegex is not null)
            throw new UserException($"{c.RefAdapter}: target_modules is a regular expression ({a.TargetRegex}); a reference adapter needs a list of module names");
        if (a.Init.ChangesBase())
            throw new UserException($"{c.RefAdapter}: init_lora_weights is {PeftConfigJson.InitName(a)}, so the adapter applies to the residual its initialisation leaves, not to the base; convert it to the original base first (PEFT: save_pretrained(path_initial_model_for_weight_conversion=...))");
        var adopted = c.Clone();
        adopted.UseDora = a.UseDora;
        adopted.R = a.R; adopted.Alpha = a.Alpha; adopted.UseRslora = a.UseRslora; adopted.LoraHead = a.LoraHead;
        adopted.Targets = string.Join(",", a.TargetModules.Where(m => m != "lm_head"));
        adopted.RankPattern = a.RankPattern.Count == 0 ? null : a.RankPattern;
        adopted.AlphaPattern = a.AlphaPattern.Count == 0 ? null : a.AlphaPattern;
        var shape = new IRunSetting[] { RunSettings.R, RunSettings.Alpha, RunSettings.Targets, RunSettings.LoraHead, RunSettings.UseRslora,
            RunSettings.UseDora, RunSettings.RankPattern, RunSettings.AlphaPattern };
        foreach (var s in shape)
        {
            string given = s.Format(s.Get(c)), own = s.Format(s.Get(adopted));
            if (c.Origins.ContainsKey(s.Key) && given != own)
                throw new UserException($"{c.NameOf(s)} {given}: with {RunSettings.RefAdapter.Flag.Split(' ')[0]} the adapter's own r, alpha and targets are used ({s.Key} {own} here); drop it");
            s.Set(c, s.Get(adopted));
        }
    }

    /// Encodes the pairs with the run's template and lengths, holding out --val-fraction when no --val-data is given.
    public static PreferenceData Encode(RunConfig c, ITokenizer tok, PromptTemplate template,
        IReadOnlyList<PreferenceRecord> train, IReadOnlyList<PreferenceRecord>? val)
    {
        if (val is null && c.ValFraction > 0 && train.Count >= 2) (train, val) = DatasetSplit.Split(train, c.ValFraction, c.Seed);
        var encoder = new PreferenceEncoder(tok, template, c.MaxSeqLength, c.PromptLimit);
        var trainSet = encoder.Encode(train, c.Data);
        var valSet = val is { Count: > 0 } ? encoder.Encode(val, c.ValData ?? c.Data) : null;
        return new PreferenceData(trainSet, valSet, val ?? []);
    }

    /// The objective over the encoded pairs. The reference log-probs are computed here, before any step (and before a
    /// resumed checkpoint's weights are loaded), when asked or when a reference adapter is the starting point (the
    /// adapter moves as it trains, so its reference values are taken while it is still the reference).
    public static PreferenceObjective Objective(RunConfig c, CausalLM model, IReadOnlyList<Parameter> trainable, PreferenceData data,
        ITokenizer tok, Action<string>? log = null)
    {
        if (c.RefAdapter is not null)
            try { PeftFormat.LoadInto(Hub.ModelSource.Resolve(c.RefAdapter), model); }
            catch (UserException e) // its r and targets are this run's, so a shape that differs means another base
            {
                throw new UserException($"{RunSettings.RefAdapter.Flag.Split(' ')[0]} {c.RefAdapter} does not fit this base ({c.Model}): it was made for a " +
                                        $"model of other shapes ({e.Message.Replace(" (different --r?)", "")})");
            }
        var settings = PreferenceSettings.From(c);
        var train = new PreferenceLoader(data.Train.Pairs, tok, c.MicroBatchSize, c.Seed, shuffle: true);
        var val = data.Validation is null ? null : new PreferenceLoader(data.Validation.Pairs, tok, c.MicroBatchSize, c.Seed, shuffle: false);
        ReferenceLogps? trainRef = null, valRef = null;
        if (settings.UsesReference && (c.PrecomputeRef || c.RefAdapter is not null))
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            bool off = c.RefAdapter is null;
            trainRef = ReferenceLogps.Compute(model, new PreferenceLoader(data.Train.Pairs, tok, c.MicroBatchSize, c.Seed, shuffle: false), off);
            if (val is not null) valRef = ReferenceLogps.Compute(model, val, off);
            log?.Invoke($"reference log-probabilities ({(off ? "the base" : c.RefAdapter)}) computed once for {data.Train.Pairs.Count + (data.Validation?.Pairs.Count ?? 0)} pairs in {clock.Elapsed.TotalSeconds:F1} s");
        }
        return new PreferenceObjective(model, trainable, settings, train, val, c.MaxGradNorm, trainRef, valRef);
    }
}
