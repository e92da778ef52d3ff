using System.Runtime.InteropServices;

namespace LoraLab.Runtime;

/// The C heap that libtorch's CPU tensors live in. glibc keeps freed blocks of mid-sized tensors mapped (its mmap
/// threshold grows to 32 MB after the first large free), so the resident set of a training step is its live tensors
/// plus the holes earlier phases left; handing those holes back between phases keeps the peak near the live set.
public static partial class NativeHeap
{
    static bool _unavailable = !OperatingSystem.IsLinux();

    /// Returns free heap pages to the OS (glibc malloc_trim); a no-op where the C library has no such call.
    public static void Trim()
    {
        if (_unavailable) return;
        try { malloc_trim(0); }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { _unavailable = true; }
    }

    /// Allocations from this size up are mapped on their own and unmapped when freed. glibc's default threshold
    /// starts at 128 KB but rises to 32 MB after the first large free, after which the head's logit chunks and other
    /// large temporaries come from the heap and fragment it: small full fine-tuning (1 × 128 tokens) drifted from
    /// 1128 MB peak at step 50 to 1212 MB by step 150 with the default, 1129 → 1160 MB with 8 MB, at the same speed.
    public const int MmapThreshold = 8 << 20;

    /// Fixes glibc's mmap threshold (see MmapThreshold) unless the user set one themselves (MALLOC_MMAP_THRESHOLD_ or
    /// the glibc.malloc.mmap_threshold tunable).
    public static void Configure()
    {
        if (_unavailable || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null
            || Environment.GetEnvironmentVariable("GLIBC_TUNABLES")?.Contains("mmap_threshold") == true) return;
        try { mallopt(MmapThresholdParam, MmapThreshold); }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { _unavailable = true; }
    }

    const int MmapThresholdParam = -3; // M_MMAP_THRESHOLD in glibc's malloc.h

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int param, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int malloc_trim(nuint pad);
}
