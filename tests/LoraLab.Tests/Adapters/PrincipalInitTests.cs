using System.Text.Json.Nodes;
using LoraLab.Adapters;
using LoraLab.Models;
using LoraLab.Training;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// PiSSA and OLoRA: the factors are W's (checked against an independent SVD/QR), the model is unchanged at step 0,
/// and after training the adapter saved converted (rank 2r) gives the trained model's logits on the untouched base.
public class PrincipalInitTests
{
    static LoraConfig Config(LoraInit init, string targets = "all") =>
        new() { R = 4, Alpha = 8, Init = init, TargetModules = LoraTargets.Parse(targets), PissaIterations = 8 };

    [Theory]
    [InlineData(LoraInit.Pissa)]
    [InlineData(LoraInit.PissaFast)]
    [InlineData(LoraInit.Olora)]
    public void TheModelIsUnchangedAtStepZero(LoraInit init)
    {
        using var model = LoraTestModels.RandomTiny();
        using var ids = LoraTestModels.RandomIds();
        using var before = LoraTestModels.Logits(model, ids);
        var original = LoraTestModels.CloneBase(model);
        LoraInjector.Apply(model, Config(init), seed: 1);
        using var after = LoraTestModels.Logits(model, ids);
        using var diff = after.sub(before).abs().max();
        Assert.True(diff.item<float>() <= 1e-5, $"{init}: logits moved by {diff.item<float>()} at step 0");
        // and the base really changed: it keeps the residual
        var a = LoraInjector.Adapters(model)[0];
        using var moved = a.Base.Weight!.sub(original[a.Path + ".weight"]).abs().max();
        Assert.True(moved.item<float>() > 1e-3, $"{init}: the base weight did not change");
        foreach (var t in original.Values) t.Dispose();
    }

    [Fact]
    public void PissaTakesTheTopSingularTripletsAndOloraTheQrFactors()
    {
        using var model = LoraTestModels.RandomTiny();
        var original = LoraTestModels.CloneBase(model);
        LoraInjector.Apply(model, Config(LoraInit.Pissa, "q_proj"), seed: 1);
        var a = LoraInjector.Adapters(model)[0];
        using var w = original[a.Path + ".weight"];
        // s·B·A is the best rank-r approximation U_r S_r V_rᵀ (computed here by an SVD in float64)
        var (u, s, vh) = linalg.svd(w.to(ScalarType.Float64), fullMatrices: false);
        using var top = u.narrow(1, 0, 4).mul(s.narrow(0, 0, 4).unsqueeze(0)).matmul(vh.narrow(0, 0, 4));
        using var delta = a.DeltaWeight();
        using var err = delta.to(ScalarType.Float64).sub(top).abs().max();
        Assert.True(err.item<double>() < 1e-5, $"PiSSA: s·B·A differs from the top-4 SVD part by {err.item<double>()}");
        // A = diag(sqrt(S_r/s)) V_rᵀ: A's rows are orthogonal with squared norms S_r / s
        using var gram = a.lora_A.weight!.matmul(a.lora_A.weight!.t()).to(ScalarType.Float64);
        using var expected = diag(s.narrow(0, 0, 4).div(a.Scaling));
        using var gramErr = gram.sub(expected).abs().max();
        Assert.True(gramErr.item<double>() < 1e-4, $"PiSSA: A·Aᵀ is not diag(S_r/s) ({gramErr.item<double>()})");

        using var olora = LoraTestModels.RandomTiny();
        var olOriginal = LoraTestModels.CloneBase(olora);
        LoraInjector.Apply(olora, Config(LoraInit.Olora, "q_proj"), seed: 1);
        var o = LoraInjector.Adapters(olora)[0];
        var (q, r) = linalg.qr(olOriginal[o.Path + ".weight"]);
        using var bErr = o.lora_B.weight!.sub(q.narrow(1, 0, 4)).abs().max();
        using var aErr = o.lora_A.weight!.sub(r.narrow(0, 0, 4)).abs().max();
        Assert.True(bErr.item<float>() < 1e-6 && aErr.item<float>() < 1e-6, $"OLoRA: B, A differ from Q[:, :r], R[:r] by {bErr.item<float>()}, {aErr.item<float>()}");
        foreach (var t in original.Values.Concat(olOriginal.Values)) t.Dispose();
    }

    [Fact]
    public void TheRandomizedSvdFindsTheTopSubspaceOfAMatrixWithADecayingSpectrum()
    {
        var g = new TorchSharp.torch.Generator(5);
        using var scope = NewDisposeScope();
        // W = U diag(2^-i) Vᵀ, 64 × 48
        var (u, _) = linalg.qr(randn(64, 48, generator: g));
        var (v, _) = linalg.qr(randn(48, 48, generator: g));
        var spectrum = pow(0.5, arange(48, dtype: ScalarType.Float32));
        var w = u.mul(spectrum.unsqueeze(0)).matmul(v.t());
        var (fa, fb) = PrincipalInit.Factors(w, 4, 1.0, LoraInit.PissaFast, 8, new TorchSharp.torch.Generator(1));
        var exact = u.narrow(1, 0, 4).mul(spectrum.narrow(0, 0, 4).unsqueeze(0)).matmul(v.narrow(1, 0, 4).t());
        var err = fb.matmul(fa).sub(exact).abs().max().item<float>();
        Assert.True(err < 1e-4, $"randomized SVD: rank-4 part differs by {err}");
    }

    [Theory]
    [InlineData(LoraInit.Pissa)]
    [InlineData(LoraInit.Olora)]
    public void TheSavedAdapterIsConvertedAndGivesTheTrainedLogitsOnTheOriginalBase(LoraInit init)
    {
        using var loaded = LoraTestModels.LoadTiny();
        var model = loaded.Model;
        var cfg = Config(init);
        var trainable = RunSetup.Trainable(model, cfg, seed: 2);
        model.train();
        using (var opt = OptimizerFactory.Create(LoraLab.Configuration.OptimizerKind.AdamW, trainable.Parameters.Select(p => p.Param).ToList(), 1e-2, 0))
            for (int step = 0; step < 5; step++)
            {
                using var scope = NewDisposeScope();
                using var ids = LoraTestModels.RandomIds(seed: 10 + step);
                using var logits = model.Forward(ids);
                using var loss = Losses.NextTokenMean(logits, ids);
                loss.backward();
                opt.step();
                opt.zero_grad();
            }
        model.eval();
        using var probe = LoraTestModels.RandomIds(seed: 99);
        using var trained = LoraTestModels.Logits(model, probe);

        var dir = TempDir.New();
        PeftFormat.Save(dir, model, cfg);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PeftFormat.ConfigFile)))!;
        Assert.Equal(8, json["r"]!.GetValue<int>());
        Assert.Equal(16, json["lora_alpha"]!.GetValue<int>());
        Assert.True(json["init_lora_weights"]!.GetValue<bool>());

        using var fresh = LoraTestModels.LoadTiny();
        PeftFormat.Load(dir, fresh.Model);
        using var onOriginal = LoraTestModels.Logits(fresh.Model, probe);
        using var diff = onOriginal.sub(trained).abs().max();
        Assert.True(diff.item<float>() <= 1e-4, $"{init}: converted adapter on the original base differs by {diff.item<float>()}");
        using var untrained = LoraTestModels.LoadTiny();
        using var baseLogits = LoraTestModels.Logits(untrained.Model, probe);
        using var moved = trained.sub(baseLogits).abs().max();
        Assert.True(moved.item<float>() > 1e-3, "training must have changed the logits for the test to mean anything");

        // resuming: a run initialised the same way reads the converted checkpoint back into r = 4 factors and its start
        using var resumed = LoraTestModels.LoadTiny();
        RunSetup.Trainable(resumed.Model, cfg, seed: 2);
        PeftFormat.LoadInto(dir, resumed.Model);
        resumed.Model.eval();
        using var again = LoraTestModels.Logits(resumed.Model, probe);
        using var resumeDiff = again.sub(trained).abs().max();
        Assert.True(resumeDiff.item<float>() <= 1e-5, $"{init}: the resumed run's logits differ by {resumeDiff.item<float>()}");
    }

    [Fact]
    public void AResumeWhoseSvdCameOutOtherwiseRebuildsTheResidualFromTheCheckpoint()
    {
        // pissa-fast from another seed draws other probes: a start A₀', B₀' ≠ the checkpoint's, as another machine's SVD may give
        var cfg = Config(LoraInit.PissaFast) with { PissaIterations = 2 };
        using var loaded = LoraTestModels.LoadTiny();
        RunSetup.Trainable(loaded.Model, cfg, seed: 2);
        LoraTestModels.RandomizeB(loaded.Model);
        loaded.Model.eval();
        using var probe = LoraTestModels.RandomIds(seed: 99);
        using var trained = LoraTestModels.Logits(loaded.Model, probe);
        var dir = TempDir.New();
        PeftFormat.Save(dir, loaded.Model, cfg);

        using var resumed = LoraTestModels.LoadTiny();
        RunSetup.Trainable(resumed.Model, cfg, seed: 3);
        var (mine, theirs) = (LoraInjector.Adapters(loaded.Model)[0].Initial!.Value.A, LoraInjector.Adapters(resumed.Model)[0].Initial!.Value.A);
        Assert.False(LoraTestModels.Same(mine, theirs), "the two starts must differ for the test to mean anything");
        PeftFormat.LoadInto(dir, resumed.Model);
        resumed.Model.eval();
        using var again = LoraTestModels.Logits(resumed.Model, probe);
        using var diff = again.sub(trained).abs().max();
        Assert.True(diff.item<float>() <= 1e-5, $"the resumed run's logits differ by {diff.item<float>()}");
    }

    [Fact]
    public void PeftsInitNamesAreReadAndWritten()
    {
        foreach (var (name, init, iterations) in new[] { ("pissa", LoraInit.Pissa, 16), ("pissa_niter_4", LoraInit.PissaFast, 4), ("olora", LoraInit.Olora, 16), ("gaussian", LoraInit.Gaussian, 16) })
        {
            var o = PeftConfigJson.ToJson(new LoraConfig());
            o["init_lora_weights"] = name;
            var c = PeftConfigJson.FromJson(JsonNode.Parse(o.ToJsonString())!.AsObject(), "x");
            Assert.Equal(init, c.Init);
            Assert.Equal(iterations, c.PissaIterations);
            Assert.Equal(name, PeftConfigJson.ToJson(c)["init_lora_weights"]!.GetValue<string>());
        }
        var bad = PeftConfigJson.ToJson(new LoraConfig());
        bad["init_lora_weights"] = "loftq";
        Assert.Contains("loftq", Assert.Throws<UserException>(() => PeftConfigJson.FromJson(JsonNode.Parse(bad.ToJsonString())!.AsObject(), "x")).Message);
    }

    [Fact]
    public void QuantizedBasesDoraAndFullFineTuningRefuseIt()
    {
        string Error(LoraLab.Configuration.RunConfig c) => Assert.Throws<UserException>(() => c.Validate(inputs: false)).Message;
        Assert.Contains("dense base", Error(new() { Method = LoraLab.Configuration.TrainMethod.Qlora, Init = LoraInit.Pissa }));
        Assert.Contains("DoRA", Error(new() { UseDora = true, Init = LoraInit.Olora }));
        Assert.Contains("--method full", Error(new() { Method = LoraLab.Configuration.TrainMethod.Full, Init = LoraInit.Gaussian }));
        // DPO's reference is the model with its adapters off, which after PiSSA is the residual, not the base
        Assert.Contains("reference", Error(new() { Method = LoraLab.Configuration.TrainMethod.Dpo, Init = LoraInit.Pissa }));
    }
}
