using LoraLab.Benchmarks;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Runtime;

/// `--precision auto`: bf16 mixed precision where this machine multiplies bf16 faster than fp32, fp32 elsewhere.
/// CUDA takes bf16. A CPU takes bf16 only when it has bf16 matrix instructions and a short in-process probe (an MLP
/// block of the model's widths, forward and backward, under a second) runs at least <see cref="Bf16Margin"/>× as fast
/// in bf16 as in fp32: AMX (Intel Sapphire Rapids on) is several times faster, AVX512_BF16 alone (AMD Zen 4) gains
/// less, and a narrow model gains less than a wide one. The probe runs once per process, thread count and widths.
public static class ComputePrecision
{
    /// LORALAB_CPU_BF16=0 keeps `auto` at fp32 on any CPU; =1 takes bf16 without probing.
    public const string EnvVar = "LORALAB_CPU_BF16";

    /// bf16 must beat fp32 by this much on the probe: the rest of a step (attention, norms, the fp32 loss, the
    /// optimizer) gains less from bf16 than an MLP block does, so a smaller lead is eaten by the rest.
    public const double Bf16Margin = 1.3;

    static readonly Dictionary<(int Threads, ProbeShape Shape), PrecisionChoice> CpuChoices = new();

    /// The choice for `--precision NAME` on `device` for a model of `shape` (null: a small model's): `auto` (or null)
    /// decided as above, the others as given.
    public static PrecisionChoice Resolve(string? name, Device device, ProbeShape? shape = null)
    {
        var n = (name ?? "auto").Trim().ToLowerInvariant();
        if (n == "auto") return Auto(device, shape);
        var dtype = n == "fp16-mixed" ? ScalarType.Float16 : Devices.TryParseDtype(n);
        return dtype is { } d ? new(d, "given") : throw new UserException($"--precision: unknown precision '{name}' (use auto, fp32, bf16 or fp16)");
    }

    public static PrecisionChoice Auto(Device device, ProbeShape? shape = null)
    {
        if (device.type == DeviceType.CUDA) return new(ScalarType.BFloat16, "auto: CUDA device");
        var s = (shape ?? ProbeShape.Small).Capped();
        var key = (get_num_threads(), s);
        lock (CpuChoices)
        {
            if (!CpuChoices.TryGetValue(key, out var choice))
                CpuChoices[key] = choice = DecideCpu(Environment.GetEnvironmentVariable(EnvVar), CpuFlags.HasBf16Matmul, () => Probe(device, s), s);
            return choice;
        }
    }

    /// The CPU decision from the environment variable, the flags and (only when both allow bf16) the probe's
    /// (fp32, bf16) GFLOP/s.
    public static PrecisionChoice DecideCpu(string? env, bool hasBf16Instructions, Func<(double Fp32, double Bf16)> probe, ProbeShape? shape = null)
    {
        switch (env?.Trim())
        {
            case "0": return new(ScalarType.Float32, $"auto: {EnvVar}=0");
            case "1": return new(ScalarType.BFloat16, $"auto: {EnvVar}=1");
            case null or "": break;
            default: throw new UserException($"{EnvVar}='{env}': use 0 (fp32 on this CPU) or 1 (bf16), or leave it unset to measure");
        }
        if (!hasBf16Instructions) return new(ScalarType.Float32, "auto: this CPU has no bf16 matrix instructions (AVX512_BF16, AMX-BF16)");
        var (fp32, bf16) = probe();
        double ratio = bf16 / fp32;
        var sh = shape ?? ProbeShape.Small;
        string measured = $"a bf16 MLP block (hidden {sh.Hidden}, intermediate {sh.Intermediate}) forward and backward measured {ratio:F2}x fp32's rate here ({bf16:F0} vs {fp32:F0} GFLOP/s)";
        return ratio >= Bf16Margin
            ? new(ScalarType.BFloat16, $"auto: {measured}")
            : new(ScalarType.Float32, $"auto: {measured}; bf16 is taken from {Bf16Margin:F1}x");
    }

    /// A frozen SwiGLU MLP block of the model's widths (capped: ProbeShape) over 512 to 4,096 tokens, forward and
    /// backward to its input, each dtype timed alternately after warm-up, best of six. The widths matter: a narrow model (the demo's,
    /// hidden 192) gains less from bf16 products than a 7B one. A block rather than bare square products: a step also
    /// runs activations and the backward's transposed products, which gain less from bf16; the block has both.
    public static (double Fp32, double Bf16) Probe(Device device, ProbeShape? shape = null)
    {
        double fp32 = 0, bf16 = 0;
        var s = (shape ?? ProbeShape.Small).Capped();
        using var fp32Block = new ProbeBlock(device, ScalarType.Float32, s);
        using var bf16Block = new ProbeBlock(device, ScalarType.BFloat16, s);
        for (int i = 0; i < 2; i++) { fp32Block.Seconds(); bf16Block.Seconds(); }
        for (int i = 0; i < 6; i++)
        {
            fp32 = Math.Max(fp32, fp32Block.Flops / fp32Block.Seconds() / 1e9);
            bf16 = Math.Max(bf16, bf16Block.Flops / bf16Block.Seconds() / 1e9);
        }
        return (fp32, bf16);
    }

    sealed class ProbeBlock : IDisposable
    {
        /// Three products forward and three for the input's gradient.
        public double Flops { get; }
        readonly DisposeScope _scope = NewDisposeScope();
        readonly Tensor _x, _gate, _up, _down;

        public ProbeBlock(Device device, ScalarType dtype, ProbeShape shape)
        {
            long hidden = shape.Hidden, inter = shape.Intermediate;
            // At least 512 tokens, more for a narrow model so one pass is ~2 GFLOP: the demo's widths (192, 512) over
            // 512 tokens took ~2 ms, and its fp32 rate read 82 to 250 GFLOP/s from run to run, bf16 1.3x to 3.1x.
            long rows = Math.Clamp(2_000_000_000L / (12 * hidden * inter), 512, 4096);
            Flops = 6.0 * 2 * rows * hidden * inter;
            var gen = new Generator(0);
            _gate = randn(inter, hidden, generator: gen).div_(Math.Sqrt(hidden)).to(dtype, device);
            _up = randn(inter, hidden, generator: gen).div_(Math.Sqrt(hidden)).to(dtype, device);
            _down = randn(hidden, inter, generator: gen).div_(Math.Sqrt(inter)).to(dtype, device);
            _x = randn(rows, hidden, generator: gen).to(dtype, device).requires_grad_();
        }

        public double Seconds()
        {
            using var scope = NewDisposeScope();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var h = nn.functional.silu(nn.functional.linear(_x, _gate)).mul(nn.functional.linear(_x, _up));
            nn.functional.linear(h, _down).to(ScalarType.Float32).sum().backward();
            Benchmarks.MatmulPeak.Sync(_x.grad!);
            double s = clock.Elapsed.TotalSeconds;
            _x.grad!.zero_();
            return s;
        }

        public void Dispose() => _scope.Dispose();
    }
}
