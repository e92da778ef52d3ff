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

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int malloc_trim(nuint pad);
}
