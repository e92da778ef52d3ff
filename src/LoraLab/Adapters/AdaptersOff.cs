using LoraLab.Models;

namespace LoraLab.Adapters;

/// Runs a model as its base for a while: every active adapter is disabled and enabled again on Dispose (ones
/// already disabled stay so). `using (AdaptersOff.On(model)) { ... }`. Refused when an adapter is merged: its delta
/// is in the weight, so switching the adapter path off would not give the base, and unmerging for the scope would
/// not round-trip exactly in a bf16/fp16 weight. Merging inside the scope is refused by the adapter (it is disabled).
public sealed class AdaptersOff : IDisposable
{
    readonly List<IProjectionAdapter> _disabled;

    AdaptersOff(CausalLM model)
    {
        foreach (var (path, _, _, p) in model.Projections())
            if (p.Adapter?.State == AdapterState.Merged)
                throw new InvalidOperationException($"{path}: the adapter is merged into the base weight, so switching adapters off would not give the base; unmerge first");
        _disabled = model.Projections().Select(p => p.Projection.Adapter).OfType<IProjectionAdapter>()
            .Where(a => a.State == AdapterState.Active).ToList();
        foreach (var a in _disabled) a.Disable();
    }

    public static AdaptersOff On(CausalLM model) => new(model);

    public void Dispose()
    {
        foreach (var a in _disabled) a.Enable();
    }
}
