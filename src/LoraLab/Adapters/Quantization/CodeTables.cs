using static TorchSharp.torch;

namespace LoraLab.Adapters.Quantization;

/// The code tables of bitsandbytes (values as in its `get_4bit_type` and `create_dynamic_map`).
public static class CodeTables
{
    /// NormalFloat4 (QLoRA paper): quantiles of N(0, 1) normalised to [-1, 1], with an exact zero.
    public static readonly CodeBook Nf4 = new(new[]
    {
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f,
    });

    /// FP4 E2M1 as bitsandbytes lays it out: bit 3 = sign, then the magnitudes
    /// 0, 0.0625, 8, 12, 4, 6, 2, 3 divided by the largest (12).
    public static readonly CodeBook Fp4 = new(new[] { 0.0, 0.0625, 8, 12, 4, 6, 2, 3 }
        .Concat(new[] { -0.0, -0.0625, -8, -12, -4, -6, -2, -3 })
        .Select(v => (float)v / 12f).ToArray());

    /// bitsandbytes' signed dynamic 8-bit map (`create_dynamic_map(signed=True)`), used for the block constants.
    public static CodeBook Dynamic8 => _dynamic8.Value;
    static readonly Lazy<CodeBook> _dynamic8 = new(() => new CodeBook(DynamicMap()));

    /// Dynamic exponent + fraction type (Dettmers 2015): for exponent i = 0..6 the 2^i midpoints of
    /// linspace(0.1, 1, 2^i + 1) scaled by 10^(i-6), both signs, plus 0 and 1; 256 levels sorted ascending.
    /// Computed with float32 torch ops (linspace, add, mul by a scalar) as bitsandbytes does, so the
    /// levels match its table bit for bit.
    static float[] DynamicMap()
    {
        Runtime.TorchRuntime.EnsureLoaded();
        using var scope = NewDisposeScope();
        const int maxExponentBits = 7;
        var data = new List<float>();
        for (int i = 0; i < maxExponentBits; i++)
        {
            var bounds = linspace(0.1, 1.0, (1 << i) + 1, dtype: ScalarType.Float32);
            long n = bounds.shape[0];
            var means = bounds.narrow(0, 0, n - 1).add(bounds.narrow(0, 1, n - 1)).div(2.0);
            var scaled = means.mul(Math.Pow(10, -(maxExponentBits - 1) + i)).data<float>().ToArray();
            data.AddRange(scaled);
            data.AddRange(scaled.Select(v => -v));
        }
        data.Add(0f);
        data.Add(1f);
        if (data.Count != 256) throw new InvalidOperationException($"dynamic map has {data.Count} levels, expected 256");
        data.Sort();
        return data.ToArray();
    }

    public static CodeBook For(QuantScheme scheme) => scheme switch
    {
        QuantScheme.Nf4 => Nf4,
        QuantScheme.Fp4 => Fp4,
        _ => throw new ArgumentException($"{scheme} has no 4-bit code table"),
    };
}
