using LoraLab.Models;

namespace LoraLab.Adapters;

/// One projection that a LoRA config adapts, with its resolved rank, alpha and scaling; `Dora`: it also has a magnitude vector.
public sealed record LoraSite(string Path, int Layer, string Module, long InFeatures, long OutFeatures, int R, double Alpha, double Scaling, bool Dora = false)
{
    /// Trainable parameters: A (r, in) + B (out, r), and DoRA's magnitude (out).
    public long Parameters => R * (InFeatures + OutFeatures) + (Dora ? OutFeatures : 0);

    /// Every site a config selects in a model of this architecture, in model order (layer by layer, then lm_head).
    /// Needs only shapes, so it serves both injection and counting, and checks ranks before anything is allocated.
    /// Fails when nothing matches. `rankName` is how messages name the rank ("--r", "adapter_config.json: r").
    public static IReadOnlyList<LoraSite> Plan(ModelConfig model, LoraConfig lora, string rankName = "r")
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
            sites.Add(new LoraSite(path, layer, module, inF, outF, r, alpha, lora.ScalingFor(r, alpha), lora.UseDora));
        }
        if (sites.Count == 0)
            throw new UserException($"the LoRA targets ({Describe(lora)}) match no module of this model ({LoraTargets.Available})");
        CheckRanks(sites, lora, rankName);
        return sites;
    }

    /// A rank above min(in, out) adds no capacity (A·B cannot exceed that rank) and only costs memory; a huge one
    /// would allocate without limit. The smallest module it overflows is named, with the largest rank that fits it.
    static void CheckRanks(List<LoraSite> sites, LoraConfig lora, string rankName)
    {
        var tooBig = sites.Where(s => s.R > Math.Min(s.InFeatures, s.OutFeatures)).MinBy(s => Math.Min(s.InFeatures, s.OutFeatures));
        if (tooBig is null) return;
        long side = Math.Min(tooBig.InFeatures, tooBig.OutFeatures);
        string name = tooBig.R == lora.R ? rankName : $"rank_pattern's rank for {tooBig.Path}";
        throw new UserException($"{name} {tooBig.R} is larger than {tooBig.Module}'s smaller side ({side}); use r ≤ {side}");
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
