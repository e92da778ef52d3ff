using System.Text.Json;
using LoraLab.Adapters;
using LoraLab.Models;
using LoraLab.Training;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// Models and data shared by the adapter tests: the reference tiny-llama and random models of the same shape.
static class LoraTestModels
{
    public static string TinyDir => SharedFixtures.Path_("fixtures", "tiny-llama");
    public static string SharedAdapterDir => SharedFixtures.Path_("fixtures", "tiny-llama-lora");
    public static string LocalFixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    /// The tiny architecture with random weights (no ../shared needed).
    public static CausalLM RandomTiny(long seed = 3, ScalarType dtype = ScalarType.Float32)
    {
        var model = new CausalLM(KnownConfigs.Get("tiny"), dtype, CPU);
        model.InitializeRandom(seed);
        model.eval();
        return model;
    }

    public static LoadedModel LoadTiny() => ModelLoader.Load(TinyDir, new LoadOptions { LoadTokenizer = false });

    /// The golden input ids (2, 33) of an adapter fixture.
    public static Tensor GoldenIds(string adapterDir, out double goldenLoss)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(adapterDir, "golden.json")));
        var root = doc.RootElement;
        goldenLoss = root.GetProperty("loss_with_adapter").GetDouble();
        var rows = root.GetProperty("input_ids").EnumerateArray().Select(r => r.EnumerateArray().Select(e => e.GetInt64()).ToArray()).ToArray();
        return tensor(rows.SelectMany(r => r).ToArray(), dtype: ScalarType.Int64).view(rows.Length, rows[0].Length);
    }

    public static double Loss(CausalLM model, Tensor ids)
    {
        using var _ = no_grad();
        using var logits = model.Forward(ids);
        using var loss = Losses.NextTokenMean(logits, ids);
        return loss.item<float>();
    }

    public static Tensor Logits(CausalLM model, Tensor ids)
    {
        using var _ = no_grad();
        return model.Forward(ids);
    }

    /// Random token ids (B, T) for the tiny vocabulary.
    public static Tensor RandomIds(long b = 2, long t = 16, long seed = 5) =>
        randint(0, 512, new[] { b, t }, dtype: ScalarType.Int64, generator: new TorchSharp.torch.Generator((ulong)seed));

    /// Gives every B a non-zero value so an adapter changes the output (fresh adapters have B = 0).
    public static void RandomizeB(CausalLM model, long seed = 11)
    {
        using var _ = no_grad();
        var gen = new TorchSharp.torch.Generator((ulong)seed);
        foreach (var a in LoraInjector.Adapters(model))
        {
            using var r = randn(a.lora_B.weight!.shape, generator: gen).mul_(0.05);
            a.lora_B.weight!.copy_(r);
        }
    }

    public static Dictionary<string, Tensor> CloneBase(CausalLM model) =>
        model.BaseTensors().ToDictionary(t => t.Name, t => t.Tensor.detach().clone());

    /// A tiny random Llama with the real Llama 2 tokenizer (vocab 32000), written as an HF folder.
    public static string TinyModelWithLlama2Tokenizer()
    {
        var dir = TempDir.New();
        var cfg = new ModelConfig
        {
            ModelType = "llama", VocabSize = 32000, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2,
            NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDim = 8, RmsNormEps = 1e-5, MaxPositionEmbeddings = 512,
            BosTokenId = 1, EosTokenId = 2,
        };
        using var m = new CausalLM(cfg, ScalarType.Float32, CPU);
        m.InitializeRandom(7);
        ModelFolderWriter.Write(dir, m, ScalarType.Float32);
        File.Copy(SharedFixtures.Path_("fixtures", "llama2-tokenizer", "tokenizer.model"), Path.Combine(dir, "tokenizer.model"));
        return dir;
    }

    /// Bit-exact equality of two tensors (same dtype, shape and values).
    public static bool Same(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape)) return false;
        using var eq = a.eq(b);
        using var all = eq.all();
        return all.item<bool>();
    }

    public static void AssertRel(double expected, double actual, double rel, string what = "")
    {
        double tol = rel * Math.Max(1e-12, Math.Abs(expected));
        Xunit.Assert.True(Math.Abs(expected - actual) <= tol, $"{what} expected {expected}, got {actual} (rel tol {rel})");
    }
}
