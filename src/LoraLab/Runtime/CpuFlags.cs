namespace LoraLab.Runtime;

/// The CPU's model name and feature flags as /proc/cpuinfo gives them (x86 `flags`, Arm `Features`), read once.
public static class CpuFlags
{
    static readonly Lazy<(string Model, IReadOnlySet<string> Flags)> Info = new(Read);

    public static string Model => Info.Value.Model;
    public static IReadOnlySet<string> Flags => Info.Value.Flags;

    /// Whether the CPU has instructions that multiply bf16 matrices natively (x86 AVX512_BF16 or AMX-BF16, Arm BF16).
    /// Without them libtorch converts bf16 to fp32 around every product, which is slower than fp32 alone.
    public static bool HasBf16Matmul => Flags.Contains("avx512_bf16") || Flags.Contains("amx_bf16") || Flags.Contains("bf16");

    static (string, IReadOnlySet<string>) Read()
    {
        string model = "unknown CPU";
        var flags = new HashSet<string>();
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                var (key, value) = line.Split(':', 2) is [var k, var v] ? (k.Trim(), v.Trim()) : ("", "");
                if (key is "model name" or "Model name") model = value;
                else if (key is "flags" or "Features") { flags.UnionWith(value.Split(' ', StringSplitOptions.RemoveEmptyEntries)); break; }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return (model, flags);
    }
}
