using LoraLab.Models;

namespace LoraLab.Adapters;

/// Runs a model as its base for a while: every projection's adapter is switched off and switched back to
/// what it was on Dispose (a merged adapter stays off). `using (AdaptersOff.On(model)) { ... }`.
public sealed class AdaptersOff : IDisposable
{
    readonly List<(Projection Projection, bool Enabled)> _saved;

    AdaptersOff(CausalLM model)
    {
        _saved = model.Projections().Where(p => p.Projection.Adapter is not null)
            .Select(p => (p.Projection, p.Projection.AdapterEnabled)).ToList();
        foreach (var (p, _) in _saved) p.AdapterEnabled = false;
    }

    public static AdaptersOff On(CausalLM model) => new(model);

    public void Dispose()
    {
        foreach (var (p, enabled) in _saved) p.AdapterEnabled = enabled;
    }
}
