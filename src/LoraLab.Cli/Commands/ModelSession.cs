using LoraLab.Adapters;
using LoraLab.ModelFiles;
using LoraLab.Runtime;

namespace LoraLab.Cli.Commands;

/// Loads the model a command names, with its device, dtype and threads resolved from the shared flags,
/// and the LoRA adapter when the command has `--adapter` (with its guardrails: a base other than the recorded
/// one is a one-line warning on stderr; an adapter that changes nothing is an error).
public static class ModelSession
{
    public static LoadedModel Open(ModelSettings s, LoadOptions? extra = null) => Open(s, out _, extra);

    public static LoadedModel Open(ModelSettings s, out AdapterLoadReport? adapter, LoadOptions? extra = null) =>
        Open(s, (s as AdapterSettings)?.Adapter, out adapter, extra);

    /// The base with the adapter `adapterArg` (a folder or Hub id; none when null): `eval` loads one per adapter it
    /// compares. Without --model the adapter's recorded base is used (ModelInputs.Model).
    public static LoadedModel Open(ModelSettings s, string? adapterArg, out AdapterLoadReport? adapter, LoadOptions? extra = null)
    {
        adapter = null;
        var adapterDir = ModelInputs.Adapter(adapterArg);
        var dir = ModelInputs.Model(s.Model, adapterDir, ModelSettings.ModelRequired);
        var device = Devices.Resolve(s.Device);
        TorchRuntime.SetThreads(s.Threads);
        var dtype = ComputePrecision.Resolve(s.Precision, device, ProbeShape.OfFolder(dir)).Dtype;
        var options = (extra ?? new LoadOptions()) with { Device = device, Dtype = dtype };
        var loaded = ModelLoader.Load(dir, options);
        foreach (var w in loaded.Warnings) Console.Error.WriteLine($"warning: {w}");
        if (adapterDir is not null)
        {
            try { adapter = AdapterLoading.Load(adapterDir, loaded); }
            catch { loaded.Dispose(); throw; }
            foreach (var w in adapter.Warnings) Console.Error.WriteLine($"warning: {w}");
        }
        return loaded;
    }
}
