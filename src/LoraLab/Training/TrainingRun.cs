using LoraLab.Adapters;
using LoraLab.Adapters.Quantization;
using LoraLab.Configuration;
using LoraLab.Data;
using LoraLab.ModelFiles;
using LoraLab.Models;
using LoraLab.Runtime;
using LoraLab.Tokenization;
using LoraLab.Training.Preferences;
using LoraLab.Data.Preferences;

namespace LoraLab.Training;

/// One `loralab train` run put together from a resolved RunConfig: model (dense or quantized base), data
/// (template, masking, split, packing), trainable parameters (LoRA adapters or all weights), and the Trainer.
public sealed class TrainingRun : IDisposable
{
    public RunConfig Config { get; }
    public LoadedModel Loaded { get; }
    public ITokenizer Tokenizer { get; }
    public PromptTemplate Template { get; }
    /// What the run trains and validates on, one line each (examples or pairs, tokens, truncation).
    public string TrainSummary { get; }
    public string? ValSummary { get; }
    /// A preference run's pairs (null for supervised runs).
    public PreferenceData? Preferences { get; }
    public LoraConfig? Lora { get; }
    public LoraSummary? LoraSummary { get; }
    public long TrainableParameters { get; }
    public long TotalParameters { get; }
    public long FrozenWeightBytes { get; }
    public Trainer Trainer { get; }
    public string OutDir { get; }
    /// Saves the run's trainable weights (the adapter with its loralab_adapter.json, or the full model; with ReLoRA
    /// also the adapted base weights), in checkpoints and, but for ReLoRA, as the final output.
    public IWeightStore Store { get; }
    /// ReLoRA's restarts (null: a plain run).
    public Relora.ReloraRestarts? Restarts => Trainer.Restarts;
    /// The folder the run's end writes (RunFolder): adapter/, or model/ for full fine-tuning and ReLoRA, whose last
    /// adapter alone is relative to a base its restarts changed.
    public string FinalFolder => RunFolder.FinalFolder(Lora is not null && Restarts is null);

    /// Writes the run's final weights into `dir`: the store's, or ReLoRA's merged model.
    public void WriteFinal(string dir)
    {
        if (Restarts is null) Store.Save(dir);
        else Relora.ReloraMergedModel.Write(dir, Loaded.Model, Restarts, Loaded.Dir);
    }
    /// Renders and tokenizes examples and prompts exactly as training did.
    public ExampleBuilder Builder { get; }
    /// The held-out records (validation data), e.g. for measuring how often generations stop; empty for preference runs.
    public IReadOnlyList<Record> ValRecords { get; }

    TrainingRun(RunConfig c, LoadedModel loaded, ITokenizer tok, PromptTemplate template, string train, string? val,
        LoraConfig? lora, LoraSummary? summary, long trainable, long total, long frozenBytes, Trainer trainer, string outDir,
        IWeightStore store, ExampleBuilder builder, IReadOnlyList<Record> valRecords, PreferenceData? preferences)
    {
        Store = store; Builder = builder; ValRecords = valRecords; Preferences = preferences;
        Config = c; Loaded = loaded; Tokenizer = tok; Template = template; TrainSummary = train; ValSummary = val; Lora = lora;
        LoraSummary = summary; TrainableParameters = trainable; TotalParameters = total; FrozenWeightBytes = frozenBytes;
        Trainer = trainer; OutDir = outDir;
    }

    /// Builds the run `config` describes, through RunSetup's steps; the returned run's Config is a copy with the
    /// template `auto` resolved to the one used. `ranks`: the data-parallel job this process is a rank of; every rank
    /// checks that the others have the same settings, base model and data before the Trainer is made.
    public static TrainingRun Prepare(RunConfig config, Action<string>? log = null, Distributed.DataParallel? ranks = null)
    {
        var c = config.Clone();
        c.Validate();
        if (c.IsPreference) return PreparePreference(c, log);
        var records = RunSetup.LoadData(c);
        var lora = RunSetup.Lora(c, c.Model);
        var loaded = RunSetup.LoadModel(c, lora);
        try
        {
            var tok = loaded.RequireTokenizer();
            var template = PromptTemplate.Resolve(c.Template, tok.ChatTemplate);
            c.Template = template.Name; // run.yaml records the template actually used
            var builder = new ExampleBuilder(tok, template, new ExampleBuilderOptions
            {
                MaxSeqLength = c.MaxSeqLength, TrainOnInputs = c.TrainOnInputs, LongExamples = c.LongExamples,
            });
            var (trainRecords, valRecords) = (records.Train, records.Validation);
            if (valRecords is null && c.ValFraction > 0 && trainRecords.Count >= 2)
                (trainRecords, valRecords) = DatasetSplit.Split(trainRecords, c.ValFraction, c.Seed);
            var train = builder.Build(trainRecords, c.Data);
            var val = valRecords is { Count: > 0 } ? builder.Build(valRecords, c.ValData ?? c.Data) : null;
            CheckTrainable(train.Stats, c.Data!);
            if (train.Examples.All(e => e.TargetTokens <= 1))
                throw new UserException($"{c.Data}: every response is empty (the only target of each example is the end-of-sequence token); nothing would be learned");

            if (ranks is not null && c.MicroBatchSize < ranks.Size)
                throw new UserException($"{c.NameOf(RunSettings.MicroBatchSize)} {c.MicroBatchSize} is smaller than the job's {ranks.Size} ranks, so some would idle: " +
                                        $"raise it to at least {ranks.Size} (it counts the rows of the whole job's micro-batch; each rank trains about micro-batch / ranks of them)");
            ranks?.CheckSameRun([
                ("settings", Distributed.DataParallel.Digest(Distributed.DataParallel.SharedSettings(c))),
                ("device", Distributed.DataParallel.Digest($"{loaded.Model.Device.type} {loaded.Model.Dtype}")),
                ("base model", Distributed.DataParallel.Digest(BaseFingerprint.Compute(loaded.Dir).ToJson().ToJsonString())),
                ("training data", Distributed.DataParallel.Digest(train.Examples.Select(e => (e.InputIds, e.Labels)))),
                ("validation data", Distributed.DataParallel.Digest((val?.Examples ?? []).Select(e => (e.InputIds, e.Labels)))),
            ]);
            var trainable = RunSetup.Trainable(loaded.Model, lora, c.Seed);
            var (trainLoader, valLoader) = RunSetup.Loaders(train.Examples, val?.Examples, Batcher.For(tok), c, c.Packing ? c.MaxSeqLength : null);
            var restarts = c.ReloraEvery is int every && lora is not null ? Relora.ReloraRestarts.Attach(loaded.Model, every, lora.Init, c.Seed, loaded.Dir) : null;
            IWeightStore store = lora is null ? new FullModelWeights(loaded.Model, loaded.Dir)
                : restarts is null ? Adapters(c, loaded.Model, lora, builder)
                : new Relora.ReloraCheckpointWeights(Adapters(c, loaded.Model, lora, builder), restarts);
            var trainer = new Trainer(loaded.Model, trainable.Parameters, c, trainLoader, valLoader, c.Out!, store, ranks) { Restarts = restarts };
            return new TrainingRun(c, loaded, tok, template, train.Stats.ToString(), val?.Stats.ToString(), lora, trainable.Summary, trainable.Count,
                ModelShapes.TotalParameters(loaded.Config), FrozenBytes(loaded.Model), trainer, c.Out!, store, builder, valRecords ?? Array.Empty<Record>(), null);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }

    /// A preference run (DPO, ORPO): pairs instead of examples, a LoRA adapter as the policy (from --ref-adapter or
    /// fresh), the PreferenceObjective in the Trainer. The same model, store and provenance as a LoRA run.
    static TrainingRun PreparePreference(RunConfig c, Action<string>? log)
    {
        var records = PreferenceRunSetup.LoadData(c);
        PreferenceRunSetup.AdoptReferenceShape(c);
        var lora = RunSetup.Lora(c, c.Model)!;
        var loaded = RunSetup.LoadModel(c, lora);
        try
        {
            var tok = loaded.RequireTokenizer();
            var template = PromptTemplate.Resolve(c.Template, tok.ChatTemplate);
            c.Template = template.Name;
            var builder = new ExampleBuilder(tok, template, new ExampleBuilderOptions { MaxSeqLength = c.MaxSeqLength });
            var data = PreferenceRunSetup.Encode(c, tok, template, records.Train, records.Validation);
            var trainable = RunSetup.Trainable(loaded.Model, lora, c.Seed);
            var objective = PreferenceRunSetup.Objective(c, loaded.Model, trainable.Parameters.Select(t => t.Param).ToList(), data, tok, log);
            var store = Adapters(c, loaded.Model, lora, builder);
            var trainer = new Trainer(loaded.Model, trainable.Parameters, c, objective, c.Out!, store);
            return new TrainingRun(c, loaded, tok, template, data.Train.TruncationNote, data.Validation?.TruncationNote, lora, trainable.Summary,
                trainable.Count, ModelShapes.TotalParameters(loaded.Config), FrozenBytes(loaded.Model), trainer, c.Out!, store, builder, [], data);
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }

    /// The run's adapter in PEFT format, with the template, BOS/EOS policy, base and its storage it was trained with.
    static AdapterStore Adapters(RunConfig c, CausalLM model, LoraConfig lora, ExampleBuilder builder) =>
        new(model, lora, Hub.ModelSource.BaseModelName(c.Model!),
            AdapterProvenance.ForTraining(builder, c.Model!, c.QuantizedBase ? RunChoices.Quantize.NameOf(c.BaseQuantization) : null));

    /// What the frozen projection weights take in memory (packed, for QLoRA).
    static long FrozenBytes(CausalLM model) => model.Projections().Sum(p =>
        p.Projection.Quantized?.StorageBytes ?? (p.Projection.Weight is null ? 0 : p.Projection.Weight.numel() * p.Projection.Weight.element_size()));

    /// Training on no (or almost no) target tokens is a silent no-op: the usual causes are empty outputs or a
    /// template whose response part never appears. Stop before spending any compute.
    static void CheckTrainable(DataStats s, string source)
    {
        if (s.Examples == 0) throw new UserException($"{source}: no example is left to train on ({s.Dropped} dropped as longer than --max-seq-length)");
        if (s.TargetTokens == 0)
            throw new UserException($"{source}: no token is a training target (all outputs empty, or every response masked); nothing would be learned");
        if (s.TargetShare < 0.01)
            throw new UserException($"{source}: only {s.TargetShare:P2} of tokens are training targets (below 1%); check the template and the outputs, or use --train-on-inputs");
    }

    public void Dispose() => Loaded.Dispose();
}

/// Saves/loads a LoRA adapter in PEFT's format (adapter_config.json + adapter_model.safetensors), with the
/// run's template, BOS/EOS policy and base fingerprint beside it (loralab_adapter.json) when given.
public sealed class AdapterStore : IWeightStore
{
    readonly CausalLM _model; readonly LoraConfig _cfg; readonly string _base; readonly AdapterProvenance? _provenance;
    public AdapterStore(CausalLM model, LoraConfig cfg, string baseModel, AdapterProvenance? provenance = null)
    {
        _model = model; _cfg = cfg; _base = baseModel; _provenance = provenance;
    }

    public void Save(string dir)
    {
        PeftFormat.Save(dir, _model, _cfg, _base);
        if (_provenance is not null) AdapterProvenance.Write(dir, _provenance);
    }

    public void Load(string dir) => PeftFormat.LoadInto(dir, _model);
}
