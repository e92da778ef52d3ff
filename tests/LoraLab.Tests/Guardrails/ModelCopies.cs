using LoraLab.ModelFiles;
using static TorchSharp.torch;

namespace LoraLab.Tests.Guardrails;

/// Copies of a model folder with its weights changed, for telling bases apart.
static class ModelCopies
{
    /// A copy of `dir` (config and tokenizer files as they are) whose tensors pass through `change` (name, tensor → tensor).
    public static string Rewrite(string dir, Func<string, Tensor, Tensor> change)
    {
        var outDir = TempDir.New();
        foreach (var f in Directory.GetFiles(dir).Where(f => !f.EndsWith(".safetensors") && !f.EndsWith(".index.json")))
            File.Copy(f, Path.Combine(outDir, Path.GetFileName(f)));
        using var files = CheckpointFiles.Open(dir);
        var tensors = files.Names.Select(n => { using var t = files.Read(n); return (n, change(n, t)); }).ToList();
        try { SafeTensorsWriter.Save(Path.Combine(outDir, CheckpointFiles.SingleFile), tensors); }
        finally { tensors.ForEach(t => t.Item2.Dispose()); }
        return outDir;
    }

    /// The same weights with one value of the embedding's first row changed (inside the fingerprint's sample).
    public static string WithNudgedEmbedding(string dir) => Rewrite(dir, (n, t) =>
    {
        var c = t.clone();
        if (n == "model.embed_tokens.weight") { using var _ = no_grad(); c[0, 0] = c[0, 0].add(0.5); }
        return c;
    });

    public static string AsBf16(string dir) => Rewrite(dir, (_, t) => t.to(ScalarType.BFloat16));
}
