using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace LoraLab.Runtime;

/// Lets MKL (linked into libtorch) run its AVX2 matrix kernels on AMD processors.
///
/// MKL picks its kernels by CPU vendor, not by instruction set: on an AMD CPU its products run on a "zen" code path
/// that is slower than the AVX2 path the CPU fully supports (BENCHMARKS.md, "2026-11-29 from 16:52"). The vendor test is one function,
/// `mkl_serv_intel_cpu_true`, that caches its answer in a private int the first time it runs; this sets that cache
/// to "yes" before MKL runs its first product — the in-process form of the well-known LD_PRELOAD override of the same
/// function. It only acts when the CPU is AMD with AVX2 and FMA, the library exports that function and the
/// function's first instructions read the cache exactly as expected (`mov eax,[rip+d]; test eax,eax; js`) and the
/// cache lies in read-write memory; anything else leaves MKL alone. `LORALAB_MKL_AVX2=0` turns it off.
public static class MklCpuDispatch
{
    public const string OptOutVariable = "LORALAB_MKL_AVX2";
    const string Symbol = "mkl_serv_intel_cpu_true";

    /// What happened, for `doctor` and `bench`: "applied …", "not needed …", "off …" or "not applied: why".
    public static string Status { get; private set; } = "not checked";

    /// Must run after libtorch is loaded and before its first matrix product.
    internal static void Apply()
    {
        Status = Decide();
    }

    static string Decide()
    {
        if (Environment.GetEnvironmentVariable(OptOutVariable) == "0") return $"off ({OptOutVariable}=0)";
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return "not needed (not Linux x64)";
        var vendor = CpuVendor();
        if (vendor != "AuthenticAMD") return $"not needed (CPU vendor {vendor})";
        if (!Avx2.IsSupported || !Fma.IsSupported) return "not applied: the CPU lacks AVX2 or FMA";

        var lib = dlopen("libtorch_cpu.so", RtldLazy | RtldNoLoad);
        if (lib == IntPtr.Zero) return "not applied: libtorch_cpu.so is not loaded";
        try
        {
            var fn = dlsym(lib, Symbol);
            if (fn == IntPtr.Zero) return $"not applied: libtorch exports no {Symbol} (MKL not linked in)";
            var cache = CacheAddress(fn);
            if (cache == IntPtr.Zero) return $"not applied: {Symbol} is not the shape this was written for";
            if (!IsWritableData(cache)) return $"not applied: {Symbol}'s cache is not in writable memory";
            int before = Marshal.ReadInt32(cache);
            if (before > 0) return "applied (MKL already treats this CPU as Intel)";
            if (before == 0) return "not applied: MKL ran before the switch (vendor already cached)";
            Marshal.WriteInt32(cache, 1);
            return "applied (AMD CPU: MKL's AVX2 kernels instead of its zen path)";
        }
        finally { dlclose(lib); }
    }

    /// The address of the function's cached answer, read off its first instruction, or zero when the code is not
    /// `8B 05 disp32` (mov eax, [rip+disp32]) followed by `85 C0 78` (test eax,eax; js: negative = not yet known).
    static IntPtr CacheAddress(IntPtr fn)
    {
        var code = new byte[9];
        Marshal.Copy(fn, code, 0, code.Length);
        return CacheAddress(fn, code);
    }

    public static IntPtr CacheAddress(IntPtr fn, ReadOnlySpan<byte> code)
    {
        if (code.Length < 9 || code[0] != 0x8B || code[1] != 0x05 || code[6] != 0x85 || code[7] != 0xC0 || code[8] != 0x78)
            return IntPtr.Zero;
        int disp = BitConverter.ToInt32(code.Slice(2, 4));
        return fn + 6 + disp;
    }

    /// Whether the address lies in a mapping that is readable and writable (libtorch's data or bss), so a wrong
    /// reading can never make the write fault.
    static bool IsWritableData(IntPtr address)
    {
        ulong a = (ulong)address.ToInt64();
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            // "start-end perms offset dev inode path"
            int dash = line.IndexOf('-'), space = line.IndexOf(' ');
            if (dash < 0 || space < dash) continue;
            ulong start = Convert.ToUInt64(line[..dash], 16), end = Convert.ToUInt64(line[(dash + 1)..space], 16);
            if (a >= start && a + 4 <= end) return line.Length > space + 2 && line[space + 1] == 'r' && line[space + 2] == 'w';
        }
        return false;
    }

    /// The CPUID vendor string ("AuthenticAMD", "GenuineIntel", …), or "unknown" off x86.
    public static string CpuVendor()
    {
        if (!X86Base.IsSupported) return "unknown";
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        Span<byte> name = stackalloc byte[12];
        BitConverter.TryWriteBytes(name[..4], ebx);
        BitConverter.TryWriteBytes(name[4..8], edx);
        BitConverter.TryWriteBytes(name[8..], ecx);
        return System.Text.Encoding.ASCII.GetString(name);
    }

    const int RtldLazy = 0x1, RtldNoLoad = 0x4;

    [DllImport("libc", EntryPoint = "dlopen")] static extern IntPtr dlopen(string file, int mode);
    [DllImport("libc", EntryPoint = "dlsym")] static extern IntPtr dlsym(IntPtr handle, string name);
    [DllImport("libc", EntryPoint = "dlclose")] static extern int dlclose(IntPtr handle);
}
