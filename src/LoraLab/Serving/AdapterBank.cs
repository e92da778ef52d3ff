using LoraLab.Adapters;
using LoraLab.Models;

namespace LoraLab.Serving;

/// The adapters a server holds beside one base model: each projection that any of them targets carries one
/// <see cref="MultiLoraLayer"/>, and <see cref="Routing"/> says which adapter each row of a forward pass uses.
/// Not thread-safe: the engine thread alone adds, removes and runs.
public sealed class AdapterBank : IDisposable
{
    readonly CausalLM _model;
    readonly Dictionary<string, MultiLoraLayer> _layers = new(StringComparer.Ordinal);
    readonly HashSet<int> _ids = new();

    public AdapterBank(CausalLM model)
    {
        _model = model;
        if (model.Projections().Any(p => p.Projection.Adapter is not null and not MultiLoraLayer))
            throw new InvalidOperationException("the base model already carries an adapter; serve an unadapted base");
    }

    public AdapterRouting Routing { get; } = new();

    /// Copies the adapter's weights into the bank; returns its id for routing.
    public int Add(AdapterWeights weights)
    {
        if (weights.Config.UseDora)
            throw new UserException("a DoRA adapter (use_dora) cannot be served beside others: its magnitude rescales the base's rows; merge it into its base (loralab merge) and serve the merged model");
        if (weights.Config.Init.ChangesBase())
            throw new UserException($"the adapter's init_lora_weights is {PeftConfigJson.InitName(weights.Config)}: it applies to the residual base that initialisation leaves, not to the served base; merge it (loralab merge) or convert it to the original base first");
        // the smallest free id: ids index the layers' stacks, so reusing them keeps those small across loads and unloads
        int id = 1;
        while (!_ids.Add(id)) id++;
        var byPath = _model.Projections().ToDictionary(p => p.Path, p => p.Projection);
        foreach (var (site, a, b, _) in weights.Modules)
        {
            if (!_layers.TryGetValue(site.Path, out var layer))
            {
                var projection = byPath[site.Path];
                layer = new MultiLoraLayer(Routing, projection.InFeatures, projection.OutFeatures, _model.Device);
                projection.AttachAdapter(layer, Array.Empty<(string, TorchSharp.torch.nn.Module)>());
                _layers[site.Path] = layer;
            }
            layer.Add(id, a, b, site.Scaling);
        }
        Restack();
        return id;
    }

    public void Remove(int id)
    {
        foreach (var layer in _layers.Values) layer.Remove(id);
        _ids.Remove(id);
        Restack();
    }

    void Restack()
    {
        long ids = _ids.Count == 0 ? 0 : _ids.Max() + 1;
        foreach (var layer in _layers.Values) layer.Restack(ids);
    }

    public void Dispose()
    {
        foreach (var layer in _layers.Values) layer.Dispose();
        Routing.Dispose();
    }
}
