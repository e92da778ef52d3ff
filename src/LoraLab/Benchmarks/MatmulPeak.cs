using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Benchmarks;

/// The matrix-product rate this process achieves right now on the CPU (or a device) in one dtype: the ceiling that
/// model FLOP utilisation (MFU) is measured against, in the dtype the step multiplies in. Large square products,
/// best of several, after warm-up.
public static class MatmulPeak
{
    public static double GFlops(Device device, ScalarType dtype = ScalarType.Float32, long n = 2048, int repeats = 5)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var gen = new TorchSharp.torch.Generator(0, device);
        var a = randn(new[] { n, n }, dtype: ScalarType.Float32, device: device, generator: gen).to(dtype);
        var b = randn(new[] { n, n }, dtype: ScalarType.Float32, device: device, generator: gen).to(dtype);
        for (int i = 0; i < 2; i++) a.mm(b).Dispose();
        double best = double.MaxValue;
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            using var c = a.mm(b);
            Sync(c);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return 2.0 * n * n * n / best / 1e9;
    }

    /// Waits for queued device work (a no-op on the CPU, where operations are synchronous).
    public static void Sync(Tensor t)
    {
        if (t.device_type == DeviceType.CUDA) cuda.synchronize();
    }
}
