using System.Text.Json;
using static TorchSharp.torch;

namespace LoraLab.Models;

/// Writes a complete Hugging Face model folder: config.json, model.safetensors (HF names, dense weights)
/// and the tokenizer files of the source folder, so transformers and `loralab eval` load it as a plain model.
public static class ModelWriter
{
    public static readonly string[] TokenizerFiles =
        { "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json" };

    /// `dtype` null keeps the model's dtype. Quantized projections are written dequantized.
    public static void Save(string dir, CausalLM model, string? sourceDir, ScalarType? dtype = null)
    {
        Directory.CreateDirectory(dir);
        var outType = dtype ?? model.Dtype;
        var cfg = model.Config with { TorchDtype = outType switch { ScalarType.BFloat16 => "bfloat16", ScalarType.Float16 => "float16", _ => "float32" } };
        File.WriteAllText(Path.Combine(dir, "config.json"), cfg.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        using var scope = NewDisposeScope();
        var tensors = new List<(string, Tensor)>();
        foreach (var (name, p) in model.BaseTensors())
            tensors.Add((name, p.detach().to(outType).cpu()));
        foreach (var (path, _, _, proj) in model.Projections())
            if (proj.Quantized is not null)
                tensors.Add((path + ".weight", proj.Quantized.Dequantize(outType).cpu()));
        tensors.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
        SafeTensorsWriter.Save(Path.Combine(dir, "model.safetensors"), tensors);
        if (sourceDir is not null)
            foreach (var f in TokenizerFiles)
            {
                var src = Path.Combine(sourceDir, f);
                if (File.Exists(src)) File.Copy(src, Path.Combine(dir, f), overwrite: true);
            }
    }
}
