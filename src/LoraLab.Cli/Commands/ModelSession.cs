using LoraLab.Models;
using LoraLab.Runtime;

namespace LoraLab.Cli.Commands;

/// Loads the model a command names, with its device, dtype and threads resolved from the shared flags.
public static class ModelSession
{
    public static LoadedModel Open(ModelSettings s, LoadOptions? extra = null)
    {
        var dir = s.RequireModel();
        var device = Devices.Resolve(s.Device);
        TorchRuntime.SetThreads(s.Threads);
        var dtype = Devices.ParseDtype(s.Dtype, device);
        var options = (extra ?? new LoadOptions()) with { Device = device, Dtype = dtype };
        return ModelLoader.Load(dir, options);
    }
}
