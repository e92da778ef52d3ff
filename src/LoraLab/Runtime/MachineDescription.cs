namespace LoraLab.Runtime;

/// The machine a measurement ran on, in the words reports use beside every figure: CPU model, cores and the vector
/// features that decide fp32 and bf16 speed ("2-core AMD EPYC (AVX2, AVX-512F, AVX512_BF16, no AMX)").
public static class MachineDescription
{
    public static string Describe()
    {
        string model = "unknown CPU";
        var flags = new HashSet<string>();
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                var (key, value) = line.Split(':', 2) is [var k, var v] ? (k.Trim(), v.Trim()) : ("", "");
                if (key == "model name") model = value;
                else if (key == "flags") { flags.UnionWith(value.Split(' ')); break; }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        var features = new List<string>();
        if (flags.Contains("avx2")) features.Add("AVX2");
        if (flags.Contains("avx512f")) features.Add("AVX-512F");
        if (flags.Contains("avx512_bf16")) features.Add("AVX512_BF16");
        features.Add(flags.Contains("amx_bf16") ? "AMX-BF16" : "no AMX");
        return $"{Environment.ProcessorCount}-core {model} ({string.Join(", ", features)})";
    }
}
