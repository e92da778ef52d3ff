using LoraLab.Models;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace LoraLab.ModelFiles;

/// Writes a model as a Hugging Face folder that transformers (and <see cref="ModelLoader"/>) read back:
/// `config.json`, `model.safetensors`, `generation_config.json`, and the tokenizer files copied from a source folder.
public static class ModelFolderWriter
{
    /// Tokenizer files copied when present.
    public static readonly string[] TokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json"];

    /// Saves the dense weights in <paramref name="saveDtype"/> (e.g. Float16 to halve the file) and the config
    /// that says so. Existing files of the same names are replaced. <paramref name="replacing"/>: tensors written
    /// instead of the model's own under the same names (a ReLoRA run's merged weights).
    public static void Write(string dir, CausalLM model, ScalarType saveDtype, string? tokenizerDir = null, int? padTokenId = null,
        IReadOnlyDictionary<string, Tensor>? replacing = null)
    {
        Directory.CreateDirectory(dir);
        WriteWeights(dir, model, saveDtype, replacing);
        var cfg = model.Config with { TorchDtype = DtypeName(saveDtype) };
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJson().ToJsonString(Indented) + "\n");

        var gen = new JsonObject();
        if (cfg.BosTokenId is int bos) gen["bos_token_id"] = bos;
        if (cfg.EosTokenId is int eos) gen["eos_token_id"] = eos;
        if (padTokenId is int pad) gen["pad_token_id"] = pad;
        gen["do_sample"] = false;
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), gen.ToJsonString(Indented) + "\n");

        if (tokenizerDir is not null && Path.GetFullPath(tokenizerDir) != Path.GetFullPath(dir))
            foreach (var f in TokenizerFiles)
                if (File.Exists(Path.Combine(tokenizerDir, f)))
                    Runtime.BoundedFile.Copy(Path.Combine(tokenizerDir, f), Path.Combine(dir, f), Runtime.FileLimit.ForModelFile(f), overwrite: true);
    }

    /// `model.safetensors` only, every base tensor (or its replacement) converted to <paramref name="saveDtype"/>.
    public static void WriteWeights(string dir, CausalLM model, ScalarType saveDtype, IReadOnlyDictionary<string, Tensor>? replacing = null)
    {
        var converted = new List<(string, Tensor)>();
        try
        {
            foreach (var (name, t) in model.BaseTensors())
                converted.Add((name, (replacing is not null && replacing.TryGetValue(name, out var r) ? r : t).detach().to(saveDtype)));
            SafeTensorsWriter.Save(Path.Combine(dir, CheckpointFiles.SingleFile), converted);
        }
        finally { foreach (var (_, t) in converted) t.Dispose(); }
    }

    public static string DtypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Float16 => "float16",
        ScalarType.BFloat16 => "bfloat16",
        _ => throw new ArgumentException($"cannot save a model in {t}"),
    };

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
}
