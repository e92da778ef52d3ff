using System.Text.Json;
using System.Text.Json.Nodes;
using LoraLab.Adapters;
using LoraLab.ModelFiles;
using LoraLab.Models;
using LoraLab.Training;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// DoRA against the PyTorch reference (tools/make_dora_reference.py: a PEFT-format DoRA adapter for tiny-llama with
/// random A, B and a magnitude that differs from the row norms; its loss, merged loss and one step's gradients).
public class DoraTests
{
    static string DoraDir => RepoFixtures.Path_("tiny-llama-dora");

    static double Golden(string field)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(DoraDir, "golden.json")));
        return doc.RootElement.GetProperty(field).GetDouble();
    }

    [Fact]
    public void PeftDoraAdapterGivesTheReferenceLossAndSoDoesItsMerge()
    {
        using var loaded = LoraTestModels.LoadTiny();
        using var ids = LoraTestModels.GoldenIds(DoraDir, out double golden);
        double baseLoss = LoraTestModels.Loss(loaded.Model, ids);
        Assert.Equal(Golden("loss_base"), baseLoss, 1e-4);
        var cfg = PeftFormat.Load(DoraDir, loaded.Model);
        Assert.True(cfg.UseDora);
        Assert.All(LoraInjector.Adapters(loaded.Model), a => Assert.NotNull(a.Dora));
        double withAdapter = LoraTestModels.Loss(loaded.Model, ids);
        Assert.True(Math.Abs(withAdapter - golden) <= 1e-4, $"DoRA loss {withAdapter}, reference {golden}");
        Assert.True(Math.Abs(withAdapter - baseLoss) > 1e-2, "the adapter must change the loss for the test to mean anything");

        using var before = LoraTestModels.Logits(loaded.Model, ids);
        LoraInjector.MergeAll(loaded.Model);
        double merged = LoraTestModels.Loss(loaded.Model, ids);
        Assert.True(Math.Abs(merged - Golden("loss_merged")) <= 1e-4, $"merged loss {merged}, reference {Golden("loss_merged")}");
        Assert.True(Math.Abs(merged - golden) <= 1e-4, $"merged loss {merged}, unmerged {golden}");

        // unmerge divides the row scale back out and subtracts s·B·A: the adapter path gives the same logits again
        LoraInjector.UnmergeAll(loaded.Model);
        using var after = LoraTestModels.Logits(loaded.Model, ids);
        using var diff = after.sub(before).abs().max();
        Assert.True(diff.item<float>() < 1e-4, $"logits after merge/unmerge differ by {diff.item<float>()}");
    }

    [Fact]
    public void OneStepsGradientsMatchTheReference()
    {
        using var loaded = LoraTestModels.LoadTiny();
        PeftFormat.Load(DoraDir, loaded.Model);
        loaded.Model.train();
        using var ids = LoraTestModels.GoldenIds(DoraDir, out _);
        using (var logits = loaded.Model.Forward(ids))
        using (var loss = Losses.NextTokenMean(logits, ids))
            loss.backward();
        using var file = SafeTensorsFile.Open(Path.Combine(DoraDir, "grads.safetensors"));
        var named = loaded.Model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        int checkedCount = 0;
        foreach (var key in file.Names)
        {
            using var expected = file.Read(key, ScalarType.Float32);
            var p = named[key];
            Assert.NotNull(p.grad);
            using var err = p.grad!.sub(expected).abs().max();
            using var scale = expected.abs().max();
            Assert.True(err.item<float>() <= 1e-5, $"{key}: gradient differs by {err.item<float>()} (largest {scale.item<float>()})");
            checkedCount++;
        }
        Assert.Equal(2 * 3 * 3, checkedCount); // 2 layers × (q, v, down) × (A, B, m)
    }

    [Fact]
    public void AFreshDoraAdapterLeavesTheLogitsUnchanged()
    {
        using var model = LoraTestModels.RandomTiny();
        using var ids = LoraTestModels.RandomIds();
        using var baseLogits = LoraTestModels.Logits(model, ids);
        var summary = LoraInjector.Apply(model, new LoraConfig { R = 4, Alpha = 8, UseDora = true, TargetModules = LoraTargets.Parse("all") }, seed: 1);
        using var logits = LoraTestModels.Logits(model, ids);
        using var diff = logits.sub(baseLogits).abs().max();
        Assert.True(diff.item<float>() <= 1e-6, $"fresh DoRA changed the logits by {diff.item<float>()}");
        // the magnitude is trained and counted: A, B and m per module
        var plain = ParamCounter.Count(model.Config, new LoraConfig { R = 4, Alpha = 8, TargetModules = LoraTargets.Parse("all") });
        Assert.Equal(plain.TrainableParameters + summary.Sites.Sum(s => s.OutFeatures), summary.TrainableParameters);
        Assert.Equal(summary.TrainableParameters, LoraInjector.TrainableParameters(model).Sum(p => p.numel()));
        Assert.Contains(model.named_parameters(), p => p.name == "model.layers.0.self_attn.q_proj.lora_magnitude_vector" && p.parameter.requires_grad);
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.BFloat16, 3e-2)]
    public void AProjectionWithABiasGivesTheFormula(ScalarType dtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        var gen = new TorchSharp.torch.Generator(3);
        var proj = new Projection("p", 24, 16, bias: true);
        proj.SetWeight(randn(16, 24, generator: gen).mul(0.2).to(dtype));
        proj.SetBias(randn(16, generator: gen).to(dtype));
        var a = LoraAdapter.Attach(proj, new LoraSite("p", 0, "q_proj", 24, 16, 4, 8, 2, Dora: true), 0, CPU);
        using (no_grad())
        {
            a.lora_A.weight!.copy_(randn(4, 24, generator: gen).mul(0.1));
            a.lora_B.weight!.copy_(randn(16, 4, generator: gen).mul(0.1));
            a.Dora!.Weight.copy_(rand(16, generator: gen).add(0.5));
        }
        var x = randn(5, 24, generator: gen).to(dtype);
        var y = proj.forward(x).to(ScalarType.Float32);
        // y = m / ||W + sBA||_row ⊙ (W + sBA) x + b, all in float64 from the same weights
        var w = proj.Weight!.to(ScalarType.Float64).add(a.lora_B.weight!.matmul(a.lora_A.weight!).to(ScalarType.Float64).mul(2));
        var g = a.Dora.Weight.to(ScalarType.Float64).div(w.norm(1, keepdim: false, p: 2));
        var expected = x.to(ScalarType.Float64).matmul(w.t()).mul(g).add(proj.Bias!.to(ScalarType.Float64));
        var err = y.to(ScalarType.Float64).sub(expected).abs().max().item<double>();
        Assert.True(err <= tolerance, $"{dtype}: DoRA with a bias differs from the formula by {err}");
    }

    [Fact]
    public void RowNormsEqualTheDenseNormsOnADenseAndAQuantizedBase()
    {
        foreach (bool quantized in new[] { false, true })
        {
            using var loaded = ModelLoader.Load(LoraTestModels.TinyDir, new LoadOptions
            {
                LoadTokenizer = false, QuantizerFor = quantized ? LoraLab.Adapters.Quantization.Quantizers.For("nf4") : null,
            });
            var model = loaded.Model;
            Assert.Equal(quantized, model.Projections().Any(p => p.Projection.Quantized is not null));
            LoraInjector.Apply(model, new LoraConfig { R = 4, Alpha = 8, UseDora = true, TargetModules = LoraTargets.Parse("qv") }, seed: 1);
            LoraTestModels.RandomizeB(model);
            foreach (var a in LoraInjector.Adapters(model))
            {
                using var norms = a.Dora!.RowNorms(a, ScalarType.Float32);
                using var w = a.Base.DenseWeight(ScalarType.Float32);
                using var delta = a.DeltaWeight();
                using var dense = w.add(delta).norm(1, keepdim: false, p: 2);
                using var err = norms.sub(dense).abs().max();
                Assert.True(err.item<float>() < 1e-5, $"{a.Path} (quantized {quantized}): row norms differ by {err.item<float>()}");
            }
        }
    }

    [Fact]
    public void SavedInPeftsFormatAndLoadedBack()
    {
        using var loaded = LoraTestModels.LoadTiny();
        var cfg = PeftFormat.Load(DoraDir, loaded.Model);
        using var ids = LoraTestModels.GoldenIds(DoraDir, out double golden);
        var dir = TempDir.New();
        PeftFormat.Save(dir, loaded.Model, cfg);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PeftFormat.ConfigFile)))!;
        Assert.True(json["use_dora"]!.GetValue<bool>());
        using (var file = SafeTensorsFile.Open(Path.Combine(dir, PeftFormat.WeightsFile)))
        {
            Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector", file.Names);
            Assert.Equal(new long[] { 64 }, file.Info("base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector").Shape);
        }
        using var again = LoraTestModels.LoadTiny();
        PeftFormat.Load(dir, again.Model);
        Assert.Equal(golden, LoraTestModels.Loss(again.Model, ids), 1e-4);

        // a checkpoint of a DoRA run resumes into DoRA adapters, and a plain run refuses it by name
        using var plain = LoraTestModels.LoadTiny();
        LoraInjector.Apply(plain.Model, cfg with { UseDora = false }, seed: 0);
        var e = Assert.Throws<UserException>(() => PeftFormat.LoadInto(dir, plain.Model));
        Assert.Contains("DoRA magnitude", e.Message);
    }

    [Fact]
    public void MagnitudesWithoutUseDoraAndDoraWithoutMagnitudesAreRefused()
    {
        var dir = TempDir.New();
        foreach (var f in Directory.GetFiles(DoraDir)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var cfgPath = Path.Combine(dir, PeftFormat.ConfigFile);
        File.WriteAllText(cfgPath, File.ReadAllText(cfgPath).Replace("\"use_dora\": true", "\"use_dora\": false"));
        using var loaded = LoraTestModels.LoadTiny();
        var e = Assert.Throws<UserException>(() => PeftFormat.Load(dir, loaded.Model));
        Assert.Contains("lora_magnitude_vector", e.Message);
        Assert.Contains("use_dora", e.Message);

        // the reverse: use_dora true over a plain LoRA adapter names the missing magnitude
        var plainDir = TempDir.New();
        foreach (var f in Directory.GetFiles(LoraTestModels.TinyAdapterDir)) File.Copy(f, Path.Combine(plainDir, Path.GetFileName(f)));
        var plainCfg = Path.Combine(plainDir, PeftFormat.ConfigFile);
        File.WriteAllText(plainCfg, File.ReadAllText(plainCfg).Replace("\"use_dora\": false", "\"use_dora\": true"));
        using var other = LoraTestModels.LoadTiny();
        var missing = Assert.Throws<UserException>(() => PeftFormat.Load(plainDir, other.Model));
        Assert.Contains("lora_magnitude_vector", missing.Message);
    }

    [Fact]
    public void CombineRefusesADoraAdapter()
    {
        var outDir = Path.Combine(TempDir.New(), "combined");
        var e = Assert.Throws<UserException>(() => LoraLab.Adapters.Combining.AdapterCombiner.Combine(new LoraLab.Adapters.Combining.CombineOptions
        {
            AdapterDirs = [LoraTestModels.TinyAdapterDir, DoraDir], Weights = [1, 1], OutDir = outDir,
        }));
        Assert.Contains("DoRA", e.Message);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void ServingRefusesADoraAdapterBesideOthers()
    {
        using var loaded = LoraTestModels.LoadTiny();
        using var weights = PeftFormat.Read(DoraDir, loaded.Model);
        Assert.NotNull(weights.Modules[0].M);
        using var bank = new LoraLab.Serving.AdapterBank(loaded.Model);
        var e = Assert.Throws<UserException>(() => bank.Add(weights));
        Assert.Contains("merge", e.Message);
    }

    [Fact]
    public void Bf16DoraStaysCloseToFp32AndStillSeesSmallMagnitudeChanges()
    {
        using var ids = LoraTestModels.GoldenIds(DoraDir, out double golden);
        using var bf16 = ModelLoader.Load(LoraTestModels.TinyDir, new LoadOptions { LoadTokenizer = false, Dtype = ScalarType.BFloat16 });
        PeftFormat.Load(DoraDir, bf16.Model);
        double loss = LoraTestModels.Loss(bf16.Model, ids);
        Assert.True(Math.Abs(loss - golden) / golden < 0.01, $"bf16 DoRA loss {loss}, fp32 reference {golden}");

        // g − 1 is applied, not g rounded to bf16: a change of m far below bf16's step (2⁻⁸) still moves the logits
        using var before = LoraTestModels.Logits(bf16.Model, ids);
        using (no_grad())
            foreach (var a in LoraInjector.Adapters(bf16.Model)) a.Dora!.Weight.mul_(1 + 2e-4);
        using var after = LoraTestModels.Logits(bf16.Model, ids);
        using var changed = after.ne(before).any();
        Assert.True(changed.item<bool>(), "a 2e-4 change of every magnitude left the bf16 logits unchanged");
    }
}
