using System.Text.Json.Nodes;
using LoraLab.Models;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Serving;

/// A batched decode step on a model whose layers mix sliding-window and full attention (Qwen2's max_window_layers)
/// with grouped-query heads: each row's logits are those of its own sequence's full forward pass, for sequences
/// shorter and longer than the window in one batch.
public class DecodeStepWindowTests
{
    [Fact]
    public void WindowedAndFullLayersGiveEachRowItsOwnLogits()
    {
        LoraLab.Runtime.TorchRuntime.EnsureLoaded();
        using var _ = no_grad();
        var cfg = ModelConfig.FromJson(JsonNode.Parse("""
            { "model_type": "qwen2", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 4,
              "num_attention_heads": 4, "num_key_value_heads": 2, "use_sliding_window": true, "sliding_window": 4,
              "max_window_layers": 2, "max_position_embeddings": 64 }
            """)!.AsObject());
        using var model = new CausalLM(cfg, ScalarType.Float32, CPU);
        model.InitializeRandom(13);
        model.eval();
        using var cache = new SlotKvCache(cfg, 3, 32, ScalarType.Float32, CPU);
        var rng = new Random(5);
        long[][] seqs = [Enumerable.Range(0, 11).Select(_ => (long)rng.Next(96)).ToArray(), [3, 9], Enumerable.Range(0, 5).Select(_ => (long)rng.Next(96)).ToArray()];
        int[] slots = [1, 2, 0];
        for (int i = 0; i < 3; i++)
        {
            using var ids = tensor(seqs[i][..^1]).unsqueeze(0);
            using var slot = tensor(new long[] { slots[i] });
            using var l = model.Forward(ids, cache: cache.Prefill(slot, ids.shape[1]));
        }
        using var last = tensor(seqs.Select(s => s[^1]).ToArray());
        using var slotIds = tensor(slots.Select(s => (long)s).ToArray());
        using var positions = tensor(seqs.Select(s => (long)s.Length - 1).ToArray());
        using var batched = model.DecodeStep(last, slotIds, positions, seqs.Max(s => s.Length), cache);
        for (int i = 0; i < 3; i++)
        {
            using var ids = tensor(seqs[i]).unsqueeze(0);
            using var full = model.Forward(ids);
            using var own = full.select(1, seqs[i].Length - 1).squeeze(0);
            double diff = batched[i].sub(own).abs().max().item<float>();
            Assert.True(diff < 1e-5, $"row {i} (length {seqs[i].Length}): batched logits differ from its own forward pass by {diff}");
        }
    }
}
