using System.Runtime.InteropServices;
using TorchSharp;

namespace LoraLab.Runtime;

/// One place that makes sure libtorch is loaded and configured before any tensor is made.
public static class TorchRuntime
{
    static bool _loaded;
    static readonly object Gate = new();

    /// Path of the TorchSharp native library this process uses (Linux), for doctor and diagnostics.
    public static string? NativeLibraryPath =>
        new[] { Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
                Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so") }
            .FirstOrDefault(File.Exists);

    public static void EnsureLoaded()
    {
        if (_loaded) return;
        lock (Gate)
        {
            if (_loaded) return;
            // TorchSharp's own fallback copies natives from the NuGet cache into a `cpu/` folder beside the app
            // when normal loading fails; such a copy is unpatched. Patch it here so it can never break loading.
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && !TorchSharpElfPatch.SystemLibStdCxxHas(TorchSharpElfPatch.Needed))
                foreach (var f in Directory.EnumerateFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories))
                    PatchInPlace(f);
            StepHousekeeping.BeforeTorchLoads();
            torch.InitializeDeviceType(DeviceType.CPU);
            StepHousekeeping.AfterTorchLoads();
            _loaded = true;
        }
    }

    /// Whether the TorchSharp native library in this build still needs GLIBCXX_3.4.32 strongly.
    public static string CompatStatus()
    {
        var p = NativeLibraryPath;
        if (p is null) return "native library not found beside the app";
        if (TorchSharpElfPatch.SystemLibStdCxxHas(TorchSharpElfPatch.Needed)) return "not needed (system libstdc++ has GLIBCXX_3.4.32)";
        int strong = TorchSharpElfPatch.CountStrong(File.ReadAllBytes(p), TorchSharpElfPatch.Needed);
        return strong == 0 ? "applied (GLIBCXX_3.4.32 marked weak)" : "NOT applied";
    }

    static void PatchInPlace(string file)
    {
        try
        {
            var bytes = File.ReadAllBytes(file);
            if (TorchSharpElfPatch.MarkWeak(bytes, TorchSharpElfPatch.Needed) <= 0) return;
            var tmp = file + ".loralab-tmp";
            File.WriteAllBytes(tmp, bytes);
            File.Move(tmp, file, overwrite: true);
        }
        catch (IOException) { /* read-only install: the build step already did it */ }
        catch (UnauthorizedAccessException) { }
    }

    /// Accepted --threads (and --streams, a thread each): libtorch aborts natively below 1 and hangs starting
    /// thousands of threads, so a count past four per core is refused as a typo.
    public static NumberRange ThreadRange => new(1, 4 * Environment.ProcessorCount, Whole: true, Why: $"4 x the {Environment.ProcessorCount} cores");

    /// Threads = physical cores (libtorch defaults to logical ones; hyper-threads slow GEMMs down).
    public static void SetThreads(int? threads = null)
    {
        ThreadRange.Check("--threads", threads);
        EnsureLoaded();
        int n = threads ?? CpuTopology.PhysicalCores();
        torch.set_num_threads(n);
    }
}
