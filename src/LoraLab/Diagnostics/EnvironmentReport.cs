using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using LoraLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Diagnostics;

/// What `loralab doctor` says about the machine and the native stack, as (name, value) rows.
public static class EnvironmentReport
{
    public static IReadOnlyList<(string Name, string Value)> Collect()
    {
        TorchRuntime.EnsureLoaded();
        var rows = new List<(string, string)>
        {
            ("OS", OsName()),
            ("libstdc++", LibStdCxxMaxVersion()),
            ("TorchSharp compatibility step", TorchRuntime.CompatStatus()),
            ("TorchSharp", typeof(torch).Assembly.GetName().Version?.ToString() ?? "?"),
            ("libtorch", __version__),
            (".NET", RuntimeInformation.FrameworkDescription),
            ("MKL kernels", MklCpuDispatch.Status),
            ("threads", $"{get_num_threads()} libtorch threads, {Environment.ProcessorCount} logical cores"),
            ("CUDA", cuda.is_available() ? $"available, {cuda.device_count()} device(s)" : "not available (CPU libtorch or no GPU)"),
            ("bf16 on CPU", (Bf16Works() ? "supported" : "not supported") + (CpuFlags.HasBf16Matmul ? ", with bf16 matrix instructions" : ", without bf16 matrix instructions (emulated)")),
            ("--precision auto", ComputePrecision.Auto(CPU).ToString()),
            ("MPI", Distributed.DistributedSupport.Mpi()),
            ("NCCL", Distributed.DistributedSupport.Nccl()),
        };
        return rows;
    }

    static string OsName()
    {
        try
        {
            var line = File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME="));
            if (line != null) return line["PRETTY_NAME=".Length..].Trim('"') + $" ({RuntimeInformation.OSArchitecture})";
        }
        catch (IOException) { }
        return RuntimeInformation.OSDescription;
    }

    static string LibStdCxxMaxVersion()
    {
        foreach (var p in new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" })
        {
            if (!File.Exists(p)) continue;
            var text = System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(p));
            var best = Regex.Matches(text, @"GLIBCXX_3\.4\.(\d+)").Select(m => int.Parse(m.Groups[1].Value)).DefaultIfEmpty(0).Max();
            return $"{p}: up to GLIBCXX_3.4.{best}";
        }
        return "not found in the usual places";
    }

    static bool Bf16Works()
    {
        try
        {
            using var a = ones(8, 8, dtype: ScalarType.BFloat16);
            using var c = a.matmul(a);
            return c[0, 0].to(ScalarType.Float32).item<float>() == 8f;
        }
        catch (Exception) { return false; }
    }
}
