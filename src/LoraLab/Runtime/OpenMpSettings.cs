using System.Runtime.InteropServices;

namespace LoraLab.Runtime;

/// libtorch's CPU kernels and MKL run on GNU OpenMP, whose idle threads spin for a long time at every barrier before
/// sleeping. When the machine has fewer free cores than threads (shared CI runners, laptops doing other work) a
/// spinning thread holds the core the straggler needs, and a 2-thread training step ran several times slower than a
/// 1-thread one (BENCHMARKS.md, "What made the step fast and lean"). A short spin (then sleep) keeps full speed on an idle machine and degrades gracefully on a busy one.
/// libgomp reads its settings once, when it is loaded, so this runs before libtorch is; a user's own
/// OMP_WAIT_POLICY / GOMP_SPINCOUNT always wins.
public static class OpenMpSettings
{
    public const string SpinCount = "10000";

    public static void Apply()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return;
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is not null || Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is not null) return;
        // Environment.SetEnvironmentVariable changes only .NET's copy; native libraries read the C environment.
        try { setenv("GOMP_SPINCOUNT", SpinCount, 0); }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
    }

    [DllImport("libc", CharSet = CharSet.Ansi)]
    static extern int setenv(string name, string value, int overwrite);
}
