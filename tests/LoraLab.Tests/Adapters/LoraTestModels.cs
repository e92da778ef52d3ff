using LoraLab.ModelFiles;
using System.Text.Json;
using LoraLab.Adapters;
using LoraLab.Models;
using LoraLab.Training;
using static TorchSharp.torch;

namespace LoraLab.Tests.Adapters;

/// Models and data shared by the adapter tests: the reference tiny-llama and random models of the same shape.
static class LoraTestModels
{
    public static string TinyDir => RepoFixtures.Path_("tiny-llama");
    /// The PEFT adapter for tiny-llama (q_proj, v_proj, r 4, alpha 8) with its reference loss.
    public static string TinyAdapterDir => RepoFixtures.Path_("tiny-llama-lora");

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

    /// A copy of the reference tiny-chat folder (a small random Llama and the project's SentencePiece tokenizer),
    /// for runs of `loralab train`: a fresh folder each call, so no run sees another's files.
    public static string TinyChatModel()
    {
        var dir = TempDir.New();
        foreach (var f in Directory.GetFiles(RepoFixtures.Path_("tiny-chat"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    /// The untrained tiny-chat's loss on random ids, as the reference wrote it (about ln 512: its logits are near zero).
    public static double TinyChatUntrainedLoss()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(RepoFixtures.Path_("tiny-chat", "golden.json")));
        return doc.RootElement.GetProperty("loss").GetDouble();
    }

    /// Alpaca-format instruction data the reference tool wrote (48 records, with and without input, lists, code, Unicode).
    public static string Instructions => RepoFixtures.Path_("instructions", "data.json");

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
