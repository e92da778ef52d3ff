using LoraLab.Models;
using System.Globalization;

namespace LoraLab.ModelFiles;

/// Checks a config against a checkpoint's headers before any tensor or module is built from the config: a
/// config.json that says 10^9 layers or a 10^9-wide hidden size is refused by name instead of being allocated.
public static class CheckpointShapes
{
    const string LayerPrefix = "model.layers.";

    /// Every tensor the config implies must be in the checkpoint with the implied shape, and nothing else.
    public static void Check(ModelConfig cfg, CheckpointFiles files)
    {
        string where = files.Source;
        long layers = LayerCount(files.Names);
        if (cfg.NumHiddenLayers > layers)
        {
            string missing = $"{LayerPrefix}{layers}.self_attn.q_proj.weight";
            throw new UserException($"{where}: config.json says {cfg.NumHiddenLayers} layers but the checkpoint has {layers} (no tensor {missing})");
        }
        if (cfg.NumHiddenLayers < layers) // a tensor past the config's layers (indices may skip: 0-2 and 5)
            throw new UserException($"{where}: config.json says {cfg.NumHiddenLayers} layers but the checkpoint has {layers} (unexpected tensor {files.Names.First(n => LayerIndex(n) >= cfg.NumHiddenLayers)})");

        // The layer count now matches the checkpoint's, so this walk is as long as the header.
        var expected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, shape) in ModelShapes.Expected(cfg))
        {
            if (!files.Contains(name)) throw new UserException($"{where}: missing tensor '{name}' (config.json implies it)");
            var info = files.Info(name);
            if (!info.Shape.SequenceEqual(shape))
                throw new UserException($"{where}: tensor '{name}' has shape [{string.Join(", ", info.Shape)}], config.json implies [{string.Join(", ", shape)}] ({Sizes(cfg)})");
            expected.Add(name);
        }
        foreach (var name in files.Names)
        {
            if (expected.Contains(name)) continue;
            if (name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal)) continue; // old checkpoints store a recomputable buffer
            if (name == "lm_head.weight" && cfg.TieWordEmbeddings) continue;                 // tied: the embedding is used
            throw new UserException($"{where}: unexpected tensor '{name}' (not part of a {cfg.ModelType} model with this config)");
        }
    }

    /// The config sizes a shape is made of. Heads that do not split hidden_size are ModelConfig's to refuse (only
    /// when head_dim is absent: with it given, heads × head_dim need not be hidden_size), so no rule is guessed here.
    static string Sizes(ModelConfig c) =>
        $"vocab_size {c.VocabSize}, hidden_size {c.HiddenSize}, intermediate_size {c.IntermediateSize}, " +
        $"num_attention_heads {c.NumAttentionHeads}, num_key_value_heads {c.NumKeyValueHeads}, head_dim {c.HeadDim}";

    /// One more than the highest `model.layers.N.` index among the names (0 when there is none).
    static long LayerCount(IEnumerable<string> names) => names.Select(LayerIndex).DefaultIfEmpty(-1).Max() + 1L;

    static int LayerIndex(string name)
    {
        if (!name.StartsWith(LayerPrefix, StringComparison.Ordinal)) return -1;
        int dot = name.IndexOf('.', LayerPrefix.Length);
        return dot > LayerPrefix.Length && int.TryParse(name.AsSpan(LayerPrefix.Length, dot - LayerPrefix.Length),
            NumberStyles.None, CultureInfo.InvariantCulture, out int i) ? i : -1;
    }
}
