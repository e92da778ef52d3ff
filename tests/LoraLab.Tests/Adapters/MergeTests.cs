using LoraLab.ModelFiles;
using System.Text.Json.Nodes;
using LoraLab.Adapters;
using LoraLab.Models;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// Merging folds s·B·A into W without changing the model's function; unmerging restores W.
public class MergeTests
{
    [Fact]
    public void MergedForwardEqualsAdapterForwardAndUnmergeRestoresW()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        using var m = LoraTestModels.RandomTiny();
        LoraInjector.Apply(m, new LoraConfig { R = 8, Alpha = 16, TargetModules = LoraTargets.Parse("all", true) }, seed: 1);
        LoraTestModels.RandomizeB(m);
        var before = LoraTestModels.CloneBase(m);
        using var ids = LoraTestModels.RandomIds();
        using var adapted = LoraTestModels.Logits(m, ids);
        double adaptedLoss = LoraTestModels.Loss(m, ids);

        LoraInjector.MergeAll(m);
        Assert.All(LoraInjector.Adapters(m), a => Assert.Equal(AdapterState.Merged, a.State));
        var q = LoraInjector.Adapters(m)[0];
        Assert.False(LoraTestModels.Same(before[q.Path + ".weight"], q.Base.Weight!));
        using var merged = LoraTestModels.Logits(m, ids);
        double rel = merged.sub(adapted).abs().max().item<float>() / adapted.abs().max().item<float>();
        Assert.True(rel < 1e-5, $"merged vs adapter logits differ by {rel} (relative)");
        LoraTestModels.AssertRel(adaptedLoss, LoraTestModels.Loss(m, ids), 1e-5, "loss");

        LoraInjector.UnmergeAll(m);
        foreach (var (name, t) in m.BaseTensors())
            Assert.True(before[name].allclose(t, rtol: 0, atol: 1e-6), $"{name} not restored");
        using var again = LoraTestModels.Logits(m, ids);
        Assert.True(again.allclose(adapted, rtol: 1e-5, atol: 1e-5));
        Assert.Throws<InvalidOperationException>(() => q.Unmerge());
        foreach (var t in before.Values) t.Dispose();
    }

    [Fact]
    public void MergeCommandWritesAStandaloneModel()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        var root = TempDir.New();
        var outDir = Path.Combine(root, "merged");
        try
        {
            var (rc, stdout, stderr) = CliRunner.RunProcess("merge", "--model", LoraTestModels.TinyDir, "--adapter", LoraTestModels.TinyAdapterDir, "--out", outDir);
            Assert.True(rc == 0, stderr);
            Assert.Contains("max |diff|", stdout);
            Assert.Equal(new[] { "config.json", "model.safetensors" }, Directory.GetFiles(outDir).Select(Path.GetFileName).Order());
            Assert.Single(Directory.GetFileSystemEntries(root)); // the temporary folder is gone

            // the merged model alone reproduces base + adapter's reference loss
            using var merged = ModelLoader.Load(outDir, new LoadOptions { LoadTokenizer = false });
            using var ids = LoraTestModels.GoldenIds(LoraTestModels.TinyAdapterDir, out double golden);
            Assert.Equal(golden, LoraTestModels.Loss(merged.Model, ids), 1e-4);
            Assert.DoesNotContain(merged.Model.named_parameters(), p => p.name.Contains("lora"));
            var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "config.json")))!;
            Assert.Equal("float32", (string?)cfg["torch_dtype"]);

            // non-empty target: refused without --overwrite
            var (rc2, _, err2) = CliRunner.RunProcess("merge", "--model", LoraTestModels.TinyDir, "--adapter", LoraTestModels.TinyAdapterDir, "--out", outDir);
            Assert.Equal(2, rc2);
            Assert.Contains("--overwrite", err2);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void MergeToBf16ReportsRoundingAndCopiesTokenizerFiles()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        var root = TempDir.New();
        var baseDir = Path.Combine(root, "base");
        var outDir = Path.Combine(root, "out");
        try
        {
            Directory.CreateDirectory(baseDir);
            foreach (var f in new[] { "config.json", "model.safetensors" })
                File.Copy(Path.Combine(LoraTestModels.TinyDir, f), Path.Combine(baseDir, f));
            File.WriteAllText(Path.Combine(baseDir, "generation_config.json"), "{\"do_sample\": false}");
            Directory.CreateDirectory(outDir);
            File.WriteAllText(Path.Combine(outDir, "stale.txt"), "old");

            var report = AdapterMerger.MergeToFolder(new MergeOptions
            {
                BaseDir = baseDir, AdapterDir = LoraTestModels.TinyAdapterDir, OutDir = outDir,
                OutDtype = ScalarType.BFloat16, Overwrite = true,
            });
            Assert.Equal("bfloat16", report.Dtype);
            Assert.Equal(4, report.ModulesMerged);
            Assert.Equal(new[] { "config.json", "generation_config.json", "model.safetensors" }, report.Files);
            Assert.False(File.Exists(Path.Combine(outDir, "stale.txt")));
            using (var st = SafeTensorsFile.Open(Path.Combine(outDir, "model.safetensors")))
                Assert.All(st.Names, n => Assert.Equal("BF16", st.Info(n).Dtype));
            // bf16 rounding shows up in the report but stays small
            Assert.InRange(report.MaxAbs, 1e-6, 0.1);
            Assert.Equal(4, report.Probes.Count);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void QuantizedBaseRunsTheAdapterButRefusesMerge()
    {
        using var tensors = NewDisposeScope(); // frees the temporaries of chained tensor expressions
        using var dense = LoraTestModels.RandomTiny();
        using var packed = new CausalLM(dense.Config, ScalarType.Float32, CPU);
        foreach (var (_, _, _, proj) in packed.Projections()) proj.Quantizer = w => { var q = new HeldWeight(w); return (q, q); };
        foreach (var (name, t) in dense.BaseTensors()) packed.LoadTensor(name, t);
        packed.eval();
        var cfg = new LoraConfig { TargetModules = LoraTargets.Parse("all") };
        LoraInjector.Apply(dense, cfg, seed: 1);
        LoraInjector.Apply(packed, cfg, seed: 1);
        LoraTestModels.RandomizeB(dense);
        LoraTestModels.RandomizeB(packed);
        using var ids = LoraTestModels.RandomIds();
        Assert.True(LoraTestModels.Logits(packed, ids).allclose(LoraTestModels.Logits(dense, ids), rtol: 1e-5, atol: 1e-5));
        var e = Assert.Throws<UserException>(() => LoraInjector.MergeAll(packed));
        Assert.Contains("quantized", e.Message);
        Assert.Contains("model.layers.0.self_attn.q_proj", e.Message);
    }

    /// A stand-in packed weight: stores the dense tensor as a buffer and computes x W^T from it.
    sealed class HeldWeight : nn.Module, IBaseWeight
    {
        readonly Tensor _w;
        public HeldWeight(Tensor w) : base("held") { _w = w.detach().clone(); register_buffer("w", _w); }
        public Tensor Linear(Tensor x) => nn.functional.linear(x, _w);
        public Tensor Dequantize(ScalarType dtype) => _w.to(dtype);
        public long StorageBytes => _w.NumberOfElements * 4;
    }
}
