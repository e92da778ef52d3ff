using LoraLab.Tokenization;
using static TorchSharp.torch;

namespace LoraLab.Models;

public sealed record LoadOptions
{
    public Device Device { get; init; } = CPU;
    public ScalarType Dtype { get; init; } = ScalarType.Float32;
    /// Builds the packed base weight of a projection (QLoRA); null keeps dense weights.
    public Func<string, Projection, Func<Tensor, (IBaseWeight, nn.Module)>?>? QuantizerFor { get; init; }
    /// Load the tokenizer when the folder has one (eval on pre-tokenized data does not need it).
    public bool LoadTokenizer { get; init; } = true;
}

/// A model folder loaded into memory: the network, its config and (when present) its tokenizer.
public sealed class LoadedModel : IDisposable
{
    public required string Dir { get; init; }
    public required ModelConfig Config { get; init; }
    public required CausalLM Model { get; init; }
    public ITokenizer? Tokenizer { get; init; }

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
        var model = new CausalLM(cfg, options.Dtype, options.Device);
        try
        {
            if (options.QuantizerFor is not null)
                foreach (var (path, _, _, proj) in model.Projections())
                    proj.Quantizer = options.QuantizerFor(path, proj);
            LoadWeights(model, files);
            model.eval();
        }
        catch
        {
            model.Dispose();
            throw;
        }
        var tok = options.LoadTokenizer && HasTokenizer(dir) ? TokenizerLoader.Load(dir) : null;
        return new LoadedModel { Dir = dir, Config = cfg, Model = model, Tokenizer = tok };
    }

    public static bool HasTokenizer(string dir) =>
        File.Exists(Path.Combine(dir, "tokenizer.json")) || File.Exists(Path.Combine(dir, "tokenizer.model"));

    /// Copies every tensor the config implies in (CheckpointShapes.Check has matched names and shapes).
    static void LoadWeights(CausalLM model, CheckpointFiles files)
    {
        foreach (var (name, _) in ModelShapes.Expected(model.Config))
        {
            using var t = files.Read(name, model.Dtype);
            NonFinite.Check(t, files.FileOf(name), name);
            model.LoadTensor(name, t);
        }
    }
}
