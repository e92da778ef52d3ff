namespace LoraLab.Models;

/// The HF tensor names and shapes a config implies, without creating any tensor: used to validate
/// checkpoints, to count parameters, and to estimate memory.
public static class ModelShapes
{
    public static readonly string[] LayerProjections =
        { "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj" };

    /// (in, out) features of a projection by its short name ("q_proj", ..., "lm_head").
    public static (long In, long Out) ProjectionDims(ModelConfig c, string module) => module switch
    {
        "q_proj" => (c.HiddenSize, (long)c.NumAttentionHeads * c.HeadDim),
        "k_proj" or "v_proj" => (c.HiddenSize, (long)c.NumKeyValueHeads * c.HeadDim),
        "o_proj" => ((long)c.NumAttentionHeads * c.HeadDim, c.HiddenSize),
        "gate_proj" or "up_proj" => (c.HiddenSize, c.IntermediateSize),
        "down_proj" => (c.IntermediateSize, c.HiddenSize),
        "lm_head" => (c.HiddenSize, c.VocabSize),
        _ => throw new ArgumentException($"unknown projection '{module}'"),
    };

    public static IEnumerable<(string Name, long[] Shape)> Expected(ModelConfig c)
    {
        yield return ("model.embed_tokens.weight", new long[] { c.VocabSize, c.HiddenSize });
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string p = $"model.layers.{i}.";
            yield return (p + "input_layernorm.weight", new long[] { c.HiddenSize });
            foreach (var m in LayerProjections)
            {
                var shortName = m.Split('.')[1];
                var (inF, outF) = ProjectionDims(c, shortName);
                yield return (p + m + ".weight", new[] { outF, inF });
                if (c.AttentionBias && shortName is "q_proj" or "k_proj" or "v_proj")
                    yield return (p + m + ".bias", new[] { outF });
            }
            yield return (p + "post_attention_layernorm.weight", new long[] { c.HiddenSize });
        }
        yield return ("model.norm.weight", new long[] { c.HiddenSize });
        if (!c.TieWordEmbeddings) yield return ("lm_head.weight", new long[] { c.VocabSize, c.HiddenSize });
    }

    public static long TotalParameters(ModelConfig c) => Expected(c).Sum(e => e.Shape.Aggregate(1L, (a, b) => a * b));
}
