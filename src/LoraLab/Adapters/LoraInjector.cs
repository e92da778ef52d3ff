using LoraLab.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraLab.Adapters;

/// Model surgery in one place: puts a <see cref="LoraAdapter"/> on every projection a <see cref="LoraConfig"/>
/// selects (PEFT's matching rules, see <see cref="LoraSite.Plan"/>) and freezes everything else.
public static class LoraInjector
{
    /// Wraps the selected projections, initialises A from `seed` (B = 0; DoRA's magnitude = the row norms, so the
    /// output is unchanged) and leaves only the adapters' weights trainable.
    public static LoraSummary Apply(CausalLM model, LoraConfig cfg, long seed)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        var sites = LoraSite.Plan(model.Config, cfg);
        var byPath = model.Projections().ToDictionary(p => p.Path, p => p.Projection);
        if (byPath.Values.Any(p => p.Adapter is not null))
            throw new InvalidOperationException("the model already carries adapters; LoRA is applied once per model");

        foreach (var p in model.parameters()) p.requires_grad = false;
        // One CPU generator walked in model order: the same seed gives the same adapter on every device.
        var generator = new torch.Generator((ulong)seed, CPU);
        foreach (var site in sites)
        {
            var adapter = LoraAdapter.Attach(byPath[site.Path], site, cfg.Dropout, model.Device);
            adapter.Initialize(cfg.Init, generator, cfg.PissaIterations);
            adapter.Dora?.Reset(adapter, model.Dtype);
        }
        return new LoraSummary(sites, ModelShapes.TotalParameters(model.Config), sites.Sum(s => s.Parameters));
    }

    /// The LoRA adapters of a model in model order, keyed by module path.
    public static IReadOnlyList<LoraAdapter> Adapters(CausalLM model) =>
        model.Projections().Select(p => p.Projection.Adapter).OfType<LoraAdapter>().ToArray();

    /// The adapter parameters (A and B of every adapter): what an optimizer should update.
    public static IReadOnlyList<Parameter> TrainableParameters(CausalLM model) =>
        Adapters(model).SelectMany(a => a.Parameters()).ToArray();

    /// Folds every adapter into its base weight (for export or adapter-free inference).
    public static void MergeAll(CausalLM model)
    {
        var adapters = Adapters(model);
        if (adapters.Count == 0) throw new InvalidOperationException("the model has no LoRA adapters to merge");
        foreach (var a in adapters) a.Merge();
    }

    /// Takes every merged adapter back out of its base weight.
    public static void UnmergeAll(CausalLM model)
    {
        foreach (var a in Adapters(model))
            if (a.State == AdapterState.Merged) a.Unmerge();
    }
}
