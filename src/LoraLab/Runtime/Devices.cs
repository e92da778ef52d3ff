using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Runtime;

/// Resolves `--device auto|cpu|cuda` and sets libtorch's thread count once per process.
public static class Devices
{
    public static Device Resolve(string? name)
    {
        TorchRuntime.EnsureLoaded();
        switch ((name ?? "auto").Trim().ToLowerInvariant())
        {
            case "auto": return cuda.is_available() ? CUDA : CPU;
            case "cpu": return CPU;
            case "cuda":
                if (!cuda.is_available())
                    throw new UserException("--device cuda: no CUDA device is available (this build uses the CPU libtorch; see README, 'CUDA').");
                return CUDA;
            default:
                if (name!.StartsWith("cuda:", StringComparison.OrdinalIgnoreCase)) return new Device(name);
                throw new UserException($"--device: unknown device '{name}' (use auto, cpu or cuda)");
        }
    }

    /// A dtype by name (merge's --save-dtype); what a run computes in is ComputePrecision's to decide.
    public static ScalarType ParseDtype(string name) =>
        TryParseDtype(name) ?? throw new UserException($"unknown dtype '{name}' (use fp32, bf16 or fp16)");

    /// fp32, bf16 or fp16 by any of their spellings; null for any other name.
    public static ScalarType? TryParseDtype(string name) => name.Trim().ToLowerInvariant() switch
    {
        "fp32" or "float32" or "f32" => ScalarType.Float32,
        "bf16" or "bfloat16" => ScalarType.BFloat16,
        "fp16" or "float16" or "f16" => ScalarType.Float16,
        _ => null,
    };
}
