using System.Runtime.InteropServices;

namespace LoraLab.Runtime;

/// The C heap that libtorch's CPU tensors live in. glibc keeps freed blocks of mid-sized tensors mapped (its mmap
/// threshold grows to 32 MB after the first large free), so the resident set of a training step is its live tensors
/// plus the holes earlier phases left; handing those holes back between phases keeps the peak near the live set.
public static partial class NativeHeap
{
    static bool _unavailable = !OperatingSystem.IsLinux();

    /// Resident bytes not held by live heap blocks (freed blocks still mapped, plus the runtime) at the second call,
    /// after one whole step; 0 before that.
    static long _baseSlack;
    static int _calls;

    /// Returns free heap pages to the OS (glibc malloc_trim) on the first two calls, and afterwards only when the
    /// resident memory that no live block holds has grown by more than 1/32 of the resident set past its level at the
    /// second call. Trimming on every call (before each backward pass) kept the peak near the live tensors but made
    /// every step fault its freed pages in again; in steady state the freed blocks are reused in place and need not be
    /// handed back, while fragmentation that does build up is still cut back. The reference is the second call because
    /// only then has a backward pass and an update left its freed blocks: taken at the first call (set-up only) it was,
    /// in some runs, far below every later step's, and every step trimmed again (BENCHMARKS.md, "The native heap").
    public static void TrimIfGrown()
    {
        if (_unavailable) return;
        long rss = ProcessMemory.Rss();
        long? live = LiveHeapBytes();
        if (live is null) { Trim(); return; }
        long slack = rss - live.Value;
        if (_calls < 3) _calls++;
        if (_calls == 2) _baseSlack = Math.Max(1, slack);
        if (_calls < 3 || ShouldTrim(rss, slack, _baseSlack)) Trim();
    }

    /// Whether to trim, given the resident set, the part of it no live block holds, and that part at the reference
    /// call (0: none yet).
    public static bool ShouldTrim(long rss, long slack, long baseSlack) => baseSlack <= 0 || slack > baseSlack + rss / 32;

    /// Bytes in live heap blocks, mapped or not (glibc mallinfo2: uordblks + hblkhd); null where unavailable.
    public static long? LiveHeapBytes()
    {
        try
        {
            var m = mallinfo2();
            return (long)(m.uordblks + m.hblkhd);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { return null; }
    }

    /// Returns free heap pages to the OS now; a no-op where the C library has no such call.
    public static void Trim()
    {
        if (_unavailable) return;
        try { malloc_trim(0); }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { _unavailable = true; }
    }

    /// Allocations from this size up are mapped on their own and unmapped when freed. glibc's default threshold
    /// starts at 128 KB but rises to 32 MB after the first large free, after which the head's logit chunks and other
    /// large temporaries come from the heap and fragment it, and full fine-tuning's peak drifted up over the steps; 8 MB
    /// cut the drift at the same speed (BENCHMARKS.md, "What made the step fast and lean").
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

    [StructLayout(LayoutKind.Sequential)]
    struct MallInfo2
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }

    [LibraryImport("libc", EntryPoint = "mallinfo2")]
    private static partial MallInfo2 mallinfo2();

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int malloc_trim(nuint pad);
}
