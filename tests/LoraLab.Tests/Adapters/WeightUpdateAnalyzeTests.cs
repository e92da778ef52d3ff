using LoraLab.Adapters.Analysis;
using LoraLab.ModelFiles;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// `loralab analyze MODEL --base BASE` (a ReLoRA run's or a full fine-tune's model/): each changed projection's
/// ΔW = W − W_base, with its numerical rank, singular values and norms; unchanged modules are left out.
[Collection("cli")]
public class WeightUpdateAnalyzeTests
{
    const int KnownRank = 3;
    static readonly string[] Changed = ["model.layers.0.self_attn.q_proj", "model.layers.1.mlp.down_proj", "lm_head"];

    /// tiny-llama with a rank-3 update of singular values 0.3, 0.2, 0.1 added to three projections (fp32 folder).
    static string UpdatedModel()
    {
        var dir = Path.Combine(TempDir.New("update"), "model");
        using var m = LoraTestModels.LoadTiny();
        var gen = new TorchSharp.torch.Generator(13);
        using (no_grad())
            foreach (var (path, _, _, p) in m.Model.Projections().Where(p => Changed.Contains(p.Path)))
            {
                using var scope = NewDisposeScope();
                var (u, _) = linalg.qr(randn(p.OutFeatures, KnownRank, generator: gen));
                var (v, _) = linalg.qr(randn(p.InFeatures, KnownRank, generator: gen));
                var update = u.mul(tensor(new float[] { 0.3f, 0.2f, 0.1f })).matmul(v.t());
                p.Weight!.add_(update);
            }
        ModelFolderWriter.Write(dir, m.Model, ScalarType.Float32);
        return dir;
    }

    [Fact]
    public void EachChangedModuleReportsTheRankAndSpectrumOfItsUpdate()
    {
        var model = UpdatedModel();
        var modules = WeightUpdateAnalyzer.Analyze(model, LoraTestModels.TinyDir);
        Assert.Equal(Changed.Order(), modules.Select(m => m.Path).Order()); // the rest did not change
        using var based = CheckpointFiles.Open(LoraTestModels.TinyDir);
        foreach (var m in modules)
        {
            Assert.Equal(KnownRank, m.R);
            Assert.Equal(new[] { 0.3, 0.2, 0.1 }, m.SingularValues.Take(KnownRank).Select(s => Math.Round(s, 5)));
            Assert.True(m.SingularValues[KnownRank] < 1e-6, $"{m.Path}: σ₄ = {m.SingularValues[KnownRank]:E2}");
            Assert.Equal(2, m.Rank90); // 0.09 + 0.04 of 0.14 is 95%
            double norm = Math.Sqrt(0.09 + 0.04 + 0.01);
            Assert.Equal(norm, m.Norm, 5);
            using var w = based.Read(m.Path + ".weight", ScalarType.Float64);
            Assert.Equal(norm / w.norm().item<double>(), m.RelativeToBase!.Value, 5);
        }
        Assert.Equal(-1, modules.Single(m => m.Path == "lm_head").Layer);
    }

    [Fact]
    public void TheCommandPrintsTheTableAndNeedsTheBase()
    {
        var model = UpdatedModel();
        var (code, stdout, stderr) = CliRunner.Run("analyze", model, "--base", LoraTestModels.TinyDir);
        Assert.True(code == 0, stderr);
        Assert.Contains("down_proj", stdout);
        Assert.Contains("mean rank 3", stdout);

        (code, _, stderr) = CliRunner.Run("analyze", model);
        Assert.Equal(2, code);
        Assert.Contains("a model folder, not an adapter; give --base BASE", stderr);
        (code, _, stderr) = CliRunner.Run("analyze", model, "--base", LoraTestModels.TinyDir, "--out", Path.Combine(TempDir.New(), "out"));
        Assert.Equal(2, code);
        Assert.Contains("--out writes an adapter's suggested ranks", stderr);
    }
}
