namespace LoraLab.Runtime;

/// The machine a measurement ran on, in the words reports use beside every figure: CPU model, cores and the vector
/// features that decide fp32 and bf16 speed ("AMD EPYC, 2 logical CPUs (AVX2, AVX-512F, AVX512_BF16, no AMX)"); on a
/// machine without /proc/cpuinfo or an x86 flags line, what is known.
public static class MachineDescription
{
    public static string Describe()
    {
        var (model, flags) = (CpuFlags.Model, CpuFlags.Flags);
        var cpus = $"{model}, {Environment.ProcessorCount} logical CPUs";
        if (flags.Count == 0) return cpus;
        var features = new List<string>();
        if (flags.Contains("avx2")) features.Add("AVX2");
        if (flags.Contains("avx512f")) features.Add("AVX-512F");
        if (flags.Contains("avx512_bf16")) features.Add("AVX512_BF16");
        features.Add(flags.Contains("amx_bf16") ? "AMX-BF16" : "no AMX");
        return $"{cpus} ({string.Join(", ", features)})";
    }
}
