using LoraLab.Models;
using LoraLab.Tokenization;
using static TorchSharp.torch;

namespace LoraLab.ModelFiles;

public sealed record LoadOptions
{
    public Device Device { get; init; } = CPU;
    public ScalarType Dtype { get; init; } = ScalarType.Float32;
    /// The dtype weights are stored in when it differs from the compute dtype (full fine-tuning's fp32 master weights).
    public ScalarType? WeightDtype { get; init; }
    /// Builds the packed base weight of a projection (QLoRA); null keeps dense weights.
    public Func<string, Projection, Func<Tensor, (IBaseWeight, nn.Module)>?>? QuantizerFor { get; init; }
    /// Load the tokenizer when the folder has one (eval on pre-tokenized data does not need it).
    public bool LoadTokenizer { get; init; } = true;
    /// More checks of config.json (train's LoRA rank), run once it matches the checkpoint's header and before
    /// anything is allocated from it: a check that walks the layers must not walk 10^9 of them.
    public Action<ModelConfig>? CheckConfig { get; init; }
}

/// A model folder loaded into memory: the network, its config and (when present) its tokenizer.
public sealed class LoadedModel : IDisposable
{
    public required string Dir { get; init; }
    public required ModelConfig Config { get; init; }
    public required CausalLM Model { get; init; }
    public ITokenizer? Tokenizer { get; init; }
    /// One line each, for the command to show (e.g. added tokens without an embedding row).
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// The end-of-sequence id that stops an untemplated generation: the tokenizer's, else config.json's.
    public int? EosId => Tokenizer?.EosId ?? Config.EosTokenId;

    public ITokenizer RequireTokenizer() => Tokenizer ??
        throw new UserException($"{Dir}: no tokenizer (tokenizer.json or tokenizer.model) in the model folder");

    public void Dispose() => Model.Dispose();
}

/// Loads Hugging Face model folders: config.json + safetensors (single or sharded) + tokenizer files.
public static class ModelLoader
{
    public static LoadedModel Load(string dir, LoadOptions? options = null)
    {
        options ??= new LoadOptions();
        if (!Directory.Exists(dir)) throw new UserException($"{dir}: model folder not found");
        var cfg = ModelConfig.Load(Path.Combine(dir, "config.json"));
        using var files = CheckpointFiles.Open(dir);
        CheckpointShapes.Check(cfg, files); // before the config allocates anything
        options.CheckConfig?.Invoke(cfg);
        var model = new CausalLM(cfg, options.Dtype, options.Device, options.WeightDtype);
        try
        {
            if (options.QuantizerFor is not null)
                foreach (var (path, _, _, proj) in model.Projections())
                    proj.Quantizer = options.QuantizerFor(path, proj);
            LoadWeights(model, files);
            model.eval();
            var warnings = new List<string>();
            var tok = options.LoadTokenizer && HasTokenizer(dir) ? TokenizerLoader.Load(dir) : null;
            if (tok is not null) tok = CheckVocabulary(tok, cfg, dir, warnings);
            return new LoadedModel { Dir = dir, Config = cfg, Model = model, Tokenizer = tok, Warnings = warnings };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// Every token id must have an embedding row. A vocab_size above the tokenizer's is common (rows padded to a
    /// multiple of 64 or 128) and fine. A base vocabulary past vocab_size is the wrong tokenizer: ordinary text
    /// would index outside the embedding. Added tokens past it are common in published fine-tunes (a <pad> at
    /// id vocab_size) and harmless until text contains one: a warning now, an error naming the token then.
    static ITokenizer CheckVocabulary(ITokenizer tok, ModelConfig cfg, string dir, List<string> warnings)
    {
        if (tok.VocabSize <= cfg.VocabSize) return tok;
        string file = Path.GetFileName(TokenizerLoader.SourceFile(dir)!); // a tokenizer was loaded, so it has a file
        if (tok.BaseVocabSize > cfg.VocabSize)
            throw new UserException($"{dir}: {file} has {tok.BaseVocabSize} tokens (ids up to {tok.BaseVocabSize - 1}) but config.json vocab_size is {cfg.VocabSize}; " +
                "the ids from vocab_size on have no embedding row (wrong tokenizer for this model?)");
        var limited = new EmbeddingLimitedTokenizer(tok, cfg.VocabSize, $"{dir}: ", file);
        warnings.Add($"{dir}: {file} has {limited.Unembedded.Count} added token{(limited.Unembedded.Count == 1 ? "" : "s")} past config.json vocab_size {cfg.VocabSize} " +
            $"({string.Join(", ", limited.Unembedded.Take(3).Select(t => $"{t.Content} = {t.Id}"))}{(limited.Unembedded.Count > 3 ? ", ..." : "")}), " +
            "with no embedding row; text that contains it will be refused");
        return limited;
    }

    public static bool HasTokenizer(string dir) =>
        File.Exists(Path.Combine(dir, "tokenizer.json")) || File.Exists(Path.Combine(dir, "tokenizer.model"));

    /// Copies every tensor the config implies in (CheckpointShapes.Check has matched names and shapes).
    static void LoadWeights(CausalLM model, CheckpointFiles files)
    {
        foreach (var (name, _) in ModelShapes.Expected(model.Config))
        {
            using var t = files.Read(name, model.WeightDtype);
            NonFinite.Check(t, files.FileOf(name), name);
            model.LoadTensor(name, t);
        }
    }
}
