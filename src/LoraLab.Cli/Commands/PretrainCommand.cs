using System.ComponentModel;
using LoraLab.Data.Demo;
using LoraLab.Demo;
using LoraLab.IO;
using LoraLab.Runtime;
using LoraLab.Tokenization;
using LoraLab.Training;
using Spectre.Console;
using Spectre.Console.Cli;
using static TorchSharp.torch;

namespace LoraLab.Cli.Commands;

public sealed class PretrainSettings : CommandSettings
{
    [CommandOption("--out <DIR>")]
    [Description("Where to write the Hugging Face model folder (config.json, model.safetensors, tokenizer files).")]
    public string? Out { get; set; }

    [CommandOption("--run-dir <DIR>")]
    [Description("Where training writes metrics.jsonl and checkpoints.")]
    [DefaultValue("runs/pretrain")]
    public string RunDir { get; set; } = "runs/pretrain";

    [CommandOption("--corpus <FILE>")]
    [Description("Plain-text corpus, documents separated by blank lines. Default: the built-in demo corpus, generated from --seed.")]
    public string? Corpus { get; set; }

    [CommandOption("--corpus-chars <N>")]
    [Description("Size of the generated demo corpus in characters.")]
    [DefaultValue(1_200_000)]
    public int CorpusChars { get; set; } = 1_200_000;

    [CommandOption("--demo-data <DIR>")]
    [Description("Also generate the demo's instruction datasets (train.json, heldout.json) and preference pairs (prefs-train.jsonl, prefs-heldout.jsonl) here; their text joins the tokenizer's training text.")]
    public string? DemoData { get; set; }

    [CommandOption("--tokenizer <DIR>")]
    [Description("Use this folder's tokenizer. Default: learn a byte-level BPE of --vocab-size on the corpus.")]
    public string? Tokenizer { get; set; }

    [CommandOption("--vocab-size <N>")]
    [DefaultValue(1280)]
    public int VocabSize { get; set; } = 1280;

    [CommandOption("--hidden <N>")]
    [DefaultValue(0)]
    [Description("Model width (0 = the demo model's).")]
    public int Hidden { get; set; }

    [CommandOption("--layers <N>")]
    [DefaultValue(0)]
    public int Layers { get; set; }

    [CommandOption("--intermediate <N>")]
    [DefaultValue(0)]
    public int Intermediate { get; set; }

    [CommandOption("--heads <N>")]
    [DefaultValue(0)]
    public int Heads { get; set; }

    [CommandOption("--kv-heads <N>")]
    [DefaultValue(0)]
    public int KvHeads { get; set; }

    [CommandOption(SharedFlags.MaxSeqLength)]
    [Description("Tokens per training row (the corpus is cut into rows of this length).")]
    [DefaultValue(128)]
    public int MaxSeqLength { get; set; } = 128;

    [CommandOption(SharedFlags.MaxSteps)]
    [DefaultValue(2000)]
    public int MaxSteps { get; set; } = 2000;

    [CommandOption(SharedFlags.BatchSize)]
    [DefaultValue(16)]
    public int BatchSize { get; set; } = 16;

    [CommandOption(SharedFlags.MicroBatchSize)]
    [DefaultValue(16)]
    public int MicroBatchSize { get; set; } = 16;

    [CommandOption(SharedFlags.Lr)]
    [DefaultValue(3e-3)]
    public double Lr { get; set; } = 3e-3;

    [CommandOption("--warmup-steps <N>")]
    [DefaultValue(100)]
    public int WarmupSteps { get; set; } = 100;

    [CommandOption("--eval-every <N>")]
    [DefaultValue(500)]
    public int EvalEvery { get; set; } = 500;

    [CommandOption("--save-dtype <DTYPE>")]
    [Description("Dtype of the saved weights: fp16 (half the size), bf16 or fp32.")]
    [DefaultValue("fp16")]
    public string SaveDtype { get; set; } = "fp16";

    [CommandOption(SharedFlags.Seed)]
    [DefaultValue(1)]
    public int Seed { get; set; } = 1;

    [CommandOption(SharedFlags.Threads)]
    [Description(SharedFlags.ThreadsHelp)]
    public int? Threads { get; set; }

    public override Spectre.Console.ValidationResult Validate()
    {
        foreach (var (flag, value) in new (string, int)[] { ("--vocab-size", VocabSize), ("--max-steps", MaxSteps) })
            NumberRange.AtLeast(1).Check(flag, value);
        foreach (var (flag, value) in new (string, int)[] { ("--hidden", Hidden), ("--layers", Layers), ("--intermediate", Intermediate), ("--heads", Heads), ("--kv-heads", KvHeads) })
            NumberRange.AtLeast(0).Check(flag, value); // 0 = the demo model's
        NumberRange.AtLeast(2).Check("--max-seq-length", MaxSeqLength);
        LoraLab.Configuration.RunSettings.BatchSize.Check("--batch-size", BatchSize);
        LoraLab.Configuration.RunSettings.MicroBatchSize.Check("--micro-batch-size", MicroBatchSize);
        LoraLab.Configuration.RunSettings.Lr.Check("--lr", Lr);
        LoraLab.Configuration.RunSettings.WarmupSteps.Check("--warmup-steps", WarmupSteps);
        LoraLab.Configuration.RunSettings.EvalEvery.Check("--eval-every", EvalEvery);
        return base.Validate();
    }
}

/// `loralab pretrain`: trains a small Llama model from scratch on a text corpus and writes it as a model folder.
public sealed class PretrainCommand : Command<PretrainSettings>
{
    public override int Execute(CommandContext context, PretrainSettings s, CancellationToken cancellation)
    {
        if (string.IsNullOrWhiteSpace(s.Out)) throw new UserException("--out is required (the model folder to write)");
        var saveDtype = s.SaveDtype.ToLowerInvariant() switch
        {
            "fp16" or "float16" => ScalarType.Float16,
            "bf16" or "bfloat16" => ScalarType.BFloat16,
            "fp32" or "float32" => ScalarType.Float32,
            _ => throw new UserException($"--save-dtype: unknown dtype '{s.SaveDtype}' (fp16, bf16, fp32)"),
        };
        // Both folders are written in place (no --overwrite: a model folder's files are replaced by name), one process at a time.
        InputPath[] inputs = [new("--corpus", s.Corpus!), new("--tokenizer", s.Tokenizer!)];
        using var outLock = OutputFolder.Claim(s.Out, overwrite: true, inputs);
        using var runLock = RealPath.Of(s.RunDir) == RealPath.Of(s.Out) ? null : OutputFolder.Claim(s.RunDir, overwrite: true, inputs, "--run-dir");
        TorchRuntime.EnsureLoaded();
        TorchRuntime.SetThreads(s.Threads);

        IReadOnlyList<string> docs = s.Corpus is null ? DemoCorpus.Documents(s.Seed, s.CorpusChars) : ReadCorpus(s.Corpus);
        IReadOnlyList<DemoExample> examples = [];
        if (s.DemoData is not null)
        {
            var (train, heldOut) = DemoTasks.Generate(s.Seed);
            DemoTasks.WriteAlpacaJson(Path.Combine(s.DemoData, DemoAssets.TrainFile), train);
            DemoTasks.WriteAlpacaJson(Path.Combine(s.DemoData, DemoAssets.HeldOutFile), heldOut);
            var (prefsTrain, prefsHeld) = DemoPreferences.Generate(train, heldOut, s.Seed);
            DemoPreferences.Write(s.DemoData, DemoAssets.PrefsTrainFile, DemoAssets.PrefsHeldOutFile, prefsTrain, prefsHeld);
            examples = [.. train, .. heldOut];
            AnsiConsole.MarkupLineInterpolated($"demo data: {train.Count} training and {heldOut.Count} held-out examples, and a preference pair for each, in {s.DemoData}");
        }

        string tokenizerDir = s.Tokenizer ?? s.Out;
        if (s.Tokenizer is null)
        {
            var vocab = DemoAssets.TrainTokenizer(s.Out, docs, examples, s.VocabSize);
            AnsiConsole.MarkupLineInterpolated($"tokenizer: byte-level BPE, {vocab.Merges.Count} merges, {vocab.Count} tokens");
        }
        var tokenizer = TokenizerLoader.Load(tokenizerDir);
        var baseCfg = DemoAssets.ModelConfig(tokenizer.VocabSize,
            tokenizer.BosId ?? throw new UserException($"{tokenizerDir}: the tokenizer has no BOS token"),
            tokenizer.EosId ?? throw new UserException($"{tokenizerDir}: the tokenizer has no EOS token"));
        int hidden = s.Hidden > 0 ? s.Hidden : baseCfg.HiddenSize;
        int heads = s.Heads > 0 ? s.Heads : baseCfg.NumAttentionHeads;
        var cfg = baseCfg with
        {
            HiddenSize = hidden,
            NumHiddenLayers = s.Layers > 0 ? s.Layers : baseCfg.NumHiddenLayers,
            IntermediateSize = s.Intermediate > 0 ? s.Intermediate : baseCfg.IntermediateSize,
            NumAttentionHeads = heads,
            NumKeyValueHeads = s.KvHeads > 0 ? s.KvHeads : baseCfg.NumKeyValueHeads,
            HeadDim = hidden / heads,
        };
        if (hidden % heads != 0 || cfg.NumAttentionHeads % cfg.NumKeyValueHeads != 0)
            throw new UserException($"--hidden {hidden} must be a multiple of --heads {heads}, and --heads of --kv-heads {cfg.NumKeyValueHeads}");

        var options = new PretrainOptions
        {
            Model = cfg,
            SeqLength = s.MaxSeqLength,
            SaveDtype = saveDtype,
            Train = new LoraLab.Configuration.RunConfig
            {
                Lr = s.Lr, BatchSize = s.BatchSize, MicroBatchSize = s.MicroBatchSize, MaxSteps = s.MaxSteps, Seed = s.Seed,
                WarmupSteps = s.WarmupSteps, Schedule = LoraLab.Configuration.ScheduleKind.Cosine, MinLr = s.Lr / 10, WeightDecay = 0.1, EvalEvery = s.EvalEvery, LogEvery = 10,
                Method = LoraLab.Configuration.TrainMethod.Full, Device = "cpu", Precision = LoraLab.Configuration.Precision.Fp32, Threads = s.Threads,
            },
        };
        AnsiConsole.MarkupLineInterpolated($"model: {Models.ModelShapes.TotalParameters(cfg):N0} parameters (hidden {cfg.HiddenSize}, {cfg.NumHiddenLayers} layers, {cfg.NumAttentionHeads} heads / {cfg.NumKeyValueHeads} kv, vocab {cfg.VocabSize})");
        var result = Pretrainer.Run(options, docs, tokenizer, tokenizerDir, s.Out, s.RunDir,
            onStep: r => { if (r.Step % 50 == 0 || r.Step == r.TotalSteps) AnsiConsole.MarkupLineInterpolated($"step {r.Step}/{r.TotalSteps}  loss {r.Loss:F4}  lr {r.Lr:E2}  {r.TokensPerSecond:F0} tok/s  {r.Seconds:F0}s"); },
            onEval: e => AnsiConsole.MarkupLineInterpolated($"[green]step {e.Step}: validation loss {e.ValLoss:F4} (perplexity {e.ValPerplexity:F2})[/]"),
            cancel: cancellation);
        AnsiConsole.MarkupLineInterpolated($"corpus: {result.CorpusTokens:N0} tokens in {result.TrainRows} training and {result.ValidationRows} validation rows of {s.MaxSeqLength}");
        AnsiConsole.MarkupLineInterpolated($"done in {result.Train.Seconds:F0}s: train loss {result.Train.FinalTrainLoss:F4}, validation loss {result.Train.FinalValLoss:F4}; model written to {s.Out}");
        return 0;
    }

    static IReadOnlyList<string> ReadCorpus(string path)
    {
        if (!File.Exists(path)) throw new UserException($"{path}: corpus file not found");
        var docs = File.ReadAllText(path).ReplaceLineEndings("\n").Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(d => d.Trim()).Where(d => d.Length > 0).ToList();
        if (docs.Count == 0) throw new UserException($"{path}: the corpus is empty");
        return docs;
    }
}
