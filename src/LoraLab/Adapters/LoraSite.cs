using LoraLab.Models;

namespace LoraLab.Adapters;

/// One projection that a LoRA config adapts, with its resolved rank, alpha and scaling.
public sealed record LoraSite(string Path, int Layer, string Module, long InFeatures, long OutFeatures, int R, double Alpha, double Scaling)
{
    /// Trainable parameters: A (r, in) + B (out, r).
    public long Parameters => R * (InFeatures + OutFeatures);

    /// Every site a config selects in a model of this architecture, in model order (layer by layer, then lm_head).
    /// Needs only shapes, so it serves both injection and counting. Fails when nothing matches.
    public static IReadOnlyList<LoraSite> Plan(ModelConfig model, LoraConfig lora)
    {
        lora.Validate();
        if (model.TieWordEmbeddings && lora.NamesHead)
            throw new UserException("lm_head is tied to the input embeddings in this model (tie_word_embeddings); it cannot carry its own LoRA adapter");
        var sites = new List<LoraSite>();
        foreach (var (path, layer, module) in Paths(model))
        {
            if (!lora.Targets(path, layer)) continue;
            var (inF, outF) = ModelShapes.ProjectionDims(model, module);
            int r = lora.RankFor(path, layer);
            double alpha = lora.AlphaFor(path, layer);
            sites.Add(new LoraSite(path, layer, module, inF, outF, r, alpha, lora.ScalingFor(r, alpha)));
        }
        if (sites.Count == 0)
            throw new UserException($"the LoRA targets ({Describe(lora)}) match no module of this model ({LoraTargets.Available})");
        return sites;
    }

    /// Module paths in the order CausalLM.Projections() yields them.
    static IEnumerable<(string Path, int Layer, string Module)> Paths(ModelConfig c)
    {
        for (int i = 0; i < c.NumHiddenLayers; i++)
            foreach (var p in ModelShapes.LayerProjections)
                yield return ($"model.layers.{i}.{p}", i, p.Split('.')[1]);
        if (!c.TieWordEmbeddings) yield return ("lm_head", -1, "lm_head");
    }

    static string Describe(LoraConfig l) =>
        (l.TargetRegex ?? string.Join(",", l.TargetModules))
        + (l.LayersToTransform is { } ls ? $", layers {string.Join(",", ls)}" : "");
}
