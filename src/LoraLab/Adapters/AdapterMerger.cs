using LoraLab.ModelFiles;
using System.Text.Json;
using LoraLab.Adapters.Quantization;
using LoraLab.IO;
using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Adapters;

/// `loralab merge`: folds a PEFT adapter into its base and writes a standalone Hugging Face model folder
/// (config.json, model.safetensors, tokenizer files), then reloads what it wrote and measures how far its
/// logits are from base + adapter, so rounding to the output dtype is visible rather than assumed.
public static class AdapterMerger
{
    /// Files copied unchanged from the base folder when present.
    public static readonly string[] TokenizerFiles = [.. ModelFolderWriter.TokenizerFiles, "generation_config.json"];

    public static MergeReport MergeToFolder(MergeOptions o)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        string outDir = Path.GetFullPath(o.OutDir);
        bool existed = Directory.Exists(outDir);
        using var held = OutputFolder.Claim(o.OutDir, o.Overwrite, [new("--model", o.BaseDir), new("--adapter", o.AdapterDir)]);
        var name = Path.GetFileName(outDir);
        Training.AtomicDirectory.Recover(Path.GetDirectoryName(outDir)!, n => n == name); // a killed merge into this --out
        var load = new LoadOptions { Device = o.Device, Dtype = ScalarType.Float32, LoadTokenizer = false };
        try
        {
            MergeReport? report = null;
            // Written beside the target and renamed over it once checked: the target is its old self or complete.
            // The lock goes with the old folder; the new one is complete by then.
            Training.AtomicDirectory.Write(outDir, tmp => report = MergeInto(tmp, o, load));
            var files = Directory.GetFiles(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
            return report! with { OutDir = outDir, Files = files! };
        }
        catch when (!existed)
        {
            held.DeleteFolder(); // a failed merge leaves no folder it created
            throw;
        }
    }

    /// Writes the merged model into `dir` and measures it against base + adapter.
    static MergeReport MergeInto(string dir, MergeOptions o, LoadOptions load)
    {
        Tensor reference = null!, ids = null!;
        ScalarType dtype;
        int modules;
        var scheme = BaseScheme(o);
        var requantize = o.Requantize is null ? (QuantScheme?)null : QuantSchemes.Parse(o.Requantize);
        using (var based = scheme is null ? ModelLoader.Load(o.BaseDir, load) : DequantizedBase(o, load, scheme.Value, out reference, out ids))
        {
            PeftFormat.Load(o.AdapterDir, based.Model);
            dtype = o.OutDtype ?? DtypeOf(based.Config.TorchDtype);
            if (scheme is null)
            {
                ids = ProbeIds(o, based.Config.VocabSize);
                reference = Logits(based.Model, ids);
            }
            LoraInjector.MergeAll(based.Model);
            modules = LoraInjector.Adapters(based.Model).Count;
            WriteFolder(dir, based, dtype);
        }
        using (ids) using (reference)
        {
            var probes = Compare(dir, load, ids, reference);
            var requantized = requantize is null ? null
                : Compare(dir, load with { QuantizerFor = Quantizers.For(requantize.Value) }, ids, reference);
            return new MergeReport(dir, TorchDtypeName(dtype), modules, [], probes, scheme?.Name(), requantize?.Name(), requantized);
        }
    }

    /// The base's quantization during training: the option, else the adapter's record; null = dense.
    static QuantScheme? BaseScheme(MergeOptions o)
    {
        var name = o.BaseQuantization ?? AdapterProvenance.Read(o.AdapterDir)?.BaseQuantization;
        return name is null || name.Equals("none", StringComparison.OrdinalIgnoreCase) ? null : QuantSchemes.Parse(name);
    }

    /// The base as the adapter was trained on it: quantized as in training, then dequantized into a dense model
    /// (so the merge adds the adapter to the weights it actually learnt against). Also returns the reference,
    /// base(quantized) + adapter, on the probe ids.
    static LoadedModel DequantizedBase(MergeOptions o, LoadOptions load, QuantScheme scheme, out Tensor reference, out Tensor ids)
    {
        var dense = ModelLoader.Load(o.BaseDir, load);
        try
        {
            using var quantized = ModelLoader.Load(o.BaseDir, load with { QuantizerFor = Quantizers.For(scheme) });
            PeftFormat.Load(o.AdapterDir, quantized.Model);
            ids = ProbeIds(o, quantized.Config.VocabSize);
            reference = Logits(quantized.Model, ids);
            foreach (var (path, _, _, proj) in quantized.Model.Projections())
                if (proj.Quantized is { } q)
                {
                    using var w = q.Dequantize(ScalarType.Float32);
                    dense.Model.LoadTensor(path + ".weight", w);
                }
            return dense;
        }
        catch
        {
            dense.Dispose();
            throw;
        }
    }

    static void WriteFolder(string dir, LoadedModel m, ScalarType dtype)
    {
        var cast = m.Model.BaseTensors().Select(t => (t.Name, Tensor: t.Tensor.to(dtype))).ToList();
        try { SafeTensorsWriter.Save(Path.Combine(dir, CheckpointFiles.SingleFile), cast); }
        finally { cast.ForEach(t => t.Tensor.Dispose()); }
        var config = (m.Config with { TorchDtype = TorchDtypeName(dtype) }).ToJson();
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        foreach (var f in TokenizerFiles)
            if (File.Exists(Path.Combine(m.Dir, f))) Runtime.BoundedFile.Copy(Path.Combine(m.Dir, f), Path.Combine(dir, f), Runtime.FileLimit.ForModelFile(f));
    }

    static List<ProbeDiff> Compare(string dir, LoadOptions load, Tensor ids, Tensor reference)
    {
        using var merged = ModelLoader.Load(dir, load);
        using var logits = Logits(merged.Model, ids);
        var result = new List<ProbeDiff>();
        for (int i = 0; i < ids.shape[0]; i++)
        {
            using var scope = NewDisposeScope();
            var diff = logits[i].sub(reference[i]).abs_();
            result.Add(new ProbeDiff(i + 1, (int)ids.shape[1], diff.max().item<float>(), diff.mean().item<float>()));
        }
        return result;
    }

    /// Deterministic random token ids (P, T): the comparison needs no tokenizer and is the same every run.
    static Tensor ProbeIds(MergeOptions o, int vocab)
    {
        var gen = new torch.Generator((ulong)o.ProbeSeed, CPU);
        return randint(0, vocab, new long[] { o.Probes, o.ProbeLength }, dtype: ScalarType.Int64, generator: gen);
    }

    static Tensor Logits(CausalLM model, Tensor ids)
    {
        using var _ = no_grad();
        using var input = ids.to(model.Device);
        using var logits = model.Forward(input);
        return logits.to(ScalarType.Float32, CPU);
    }

    static ScalarType DtypeOf(string? torchDtype) => torchDtype switch
    {
        "bfloat16" => ScalarType.BFloat16,
        "float16" => ScalarType.Float16,
        _ => ScalarType.Float32,
    };

    public static string TorchDtypeName(ScalarType t) => t switch
    {
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float32 => "float32",
        _ => throw new UserException($"cannot write merged weights as {t} (use fp32, bf16 or fp16)"),
    };
}
