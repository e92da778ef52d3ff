using LoraLab.Adapters;
using LoraLab.Models;
using LoraLab.Runtime;

namespace LoraLab.Cli.Commands;

/// Loads the model a command names, with its device, dtype and threads resolved from the shared flags,
/// and the LoRA adapter when the command has `--adapter`.
public static class ModelSession
{
    public static LoadedModel Open(ModelSettings s, LoadOptions? extra = null)
    {
        var dir = s.RequireModel();
        var device = Devices.Resolve(s.Device);
        TorchRuntime.SetThreads(s.Threads);
        var dtype = Devices.ParseDtype(s.Dtype, device);
        var options = (extra ?? new LoadOptions()) with { Device = device, Dtype = dtype };
        var loaded = ModelLoader.Load(dir, options);
        if (s is AdapterSettings { Adapter: { } adapter })
        {
            try { PeftFormat.Load(adapter, loaded.Model); }
            catch { loaded.Dispose(); throw; }
        }
        return loaded;
    }
}
