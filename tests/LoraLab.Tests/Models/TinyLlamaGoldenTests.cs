using LoraLab.ModelFiles;
using System.Text.Json;
using LoraLab.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Models;

/// The forward pass against PyTorch reference numbers for the reference tiny-llama (tools/make_reference_models.py).
public class TinyLlamaGoldenTests
{
    static (LoadedModel Model, JsonElement Golden, Tensor Ids) Load() => Load(RepoFixtures.Path_("tiny-llama"));

    internal static (LoadedModel Model, JsonElement Golden, Tensor Ids) Load(string dir)
    {
        var golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "golden.json"))).RootElement;
        var rows = golden.GetProperty("input_ids").EnumerateArray()
            .Select(r => r.EnumerateArray().Select(e => e.GetInt64()).ToArray()).ToArray();
        var ids = tensor(rows.SelectMany(r => r).ToArray(), dtype: ScalarType.Int64).view(rows.Length, rows[0].Length);
        return (ModelLoader.Load(dir), golden, ids);
    }

    static void AssertRel(double expected, double actual, double rel) =>
        Assert.True(Math.Abs(expected - actual) <= rel * Math.Max(1, Math.Abs(expected)), $"expected {expected}, got {actual}");

    /// The committed tiny-llama and its q,v adapter are what the peer made independently into ../shared: byte for byte.
    [SharedTheory(SharedFixtures.PeerFixtures)]
    [InlineData("tiny-llama", "config.json")]
    [InlineData("tiny-llama", "model.safetensors")]
    [InlineData("tiny-llama", "golden.json")]
    [InlineData("tiny-llama-lora", "adapter_config.json")]
    [InlineData("tiny-llama-lora", "adapter_model.safetensors")]
    [InlineData("tiny-llama-lora", "golden.json")]
    public void CommittedFixturesMatchThePeersCopiesInShared(string folder, string file) =>
        Assert.Equal(File.ReadAllBytes(SharedFixtures.Path_("fixtures", folder, file)), File.ReadAllBytes(RepoFixtures.Path_(folder, file)));

    /// Other conventions: multi-query attention with tied embeddings, plain multi-head attention, other theta/eps.
    [Theory]
    [InlineData("mqa-tied")]
    [InlineData("mha-3layer")]
    public void OtherReferenceCheckpointsMatch(string name)
    {
        var (m, golden, ids) = Load(RepoFixtures.Path_(name));
        using (m) using (ids) using (no_grad())
        {
            using var inputs = ids.narrow(1, 0, ids.shape[1] - 1);
            using var logits = m.Model.Forward(inputs);
            using var loss = Losses.NextTokenMean(m.Model.Forward(ids), ids);
            Assert.Equal(golden.GetProperty("loss").GetDouble(), loss.item<float>(), 1e-4);
            AssertRel(golden.GetProperty("logits_sum").GetDouble(), logits.to(ScalarType.Float64).sum().item<double>(), 1e-4);
            AssertRel(golden.GetProperty("logits_abs_sum").GetDouble(), logits.to(ScalarType.Float64).abs().sum().item<double>(), 1e-4);
        }
    }

    [Fact]
    public void LossMatchesReference()
    {
        var (m, golden, ids) = Load();
        using (m) using (ids) using (no_grad())
        {
            using var logits = m.Model.Forward(ids);
            using var loss = Losses.NextTokenMean(logits, ids);
            Assert.Equal(golden.GetProperty("loss").GetDouble(), loss.item<float>(), 1e-4);
        }
    }

    [Fact]
    public void LogitRowsAndSumsMatchReference()
    {
        var (m, golden, ids) = Load();
        using (m) using (ids) using (no_grad())
        {
            // the reference takes its logits on the 32 input positions ids[:, :-1]
            using var inputs = ids.narrow(1, 0, ids.shape[1] - 1);
            using var logits = m.Model.Forward(inputs);
            Assert.Equal(new long[] { 2, 32, 512 }, logits.shape);
            var first = logits[0, 0].narrow(0, 0, 16).data<float>().ToArray();
            var last = logits[1, 31].narrow(0, 512 - 16, 16).data<float>().ToArray();
            var expFirst = golden.GetProperty("logits_first_row").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var expLast = golden.GetProperty("logits_last_row").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            for (int i = 0; i < 16; i++) Assert.Equal(expFirst[i], first[i], 1e-4);
            for (int i = 0; i < 16; i++) Assert.Equal(expLast[i], last[i], 1e-4);
            double sum = logits.to(ScalarType.Float64).sum().item<double>();
            double abs = logits.to(ScalarType.Float64).abs().sum().item<double>();
            AssertRel(golden.GetProperty("logits_sum").GetDouble(), sum, 1e-4);
            AssertRel(golden.GetProperty("logits_abs_sum").GetDouble(), abs, 1e-4);
        }
    }
}
