using static TorchSharp.torch;

namespace LoraLab.Models;

/// Rotary position embedding in HF's rotate-half layout: the head dimension is split in two halves
/// (not interleaved pairs), and cos/sin are computed in float32 before casting to the compute dtype.
public sealed class RotaryEmbedding : IDisposable
{
    readonly Tensor _invFreq; // (D/2) float32
    Tensor _cos, _sin;        // (maxPos, D) float32
    readonly Device _device;
    const int InitialPositions = 8192;

    public RotaryEmbedding(ModelConfig cfg, Device device)
    {
        _device = device;
        _invFreq = InverseFrequencies(cfg).to(device);
        // The table grows on demand (For), so a config's max_position_embeddings (10^6 and more in some real
        // models, anything in a crafted one) does not size the first allocation.
        (_cos, _sin) = Table(Math.Clamp(cfg.MaxPositionEmbeddings, 1, InitialPositions));
    }

    public static Tensor InverseFrequencies(ModelConfig cfg)
    {
        int d = cfg.HeadDim;
        using var exponents = arange(0, d, 2, dtype: ScalarType.Int64).to(ScalarType.Float32).div(d);
        var inv = pow(cfg.RopeTheta, exponents).reciprocal();
        var s = cfg.RopeScaling;
        if (s is null) return inv;
        if (s.Type == "linear") { using (inv) return inv.div(s.Factor); }
        // llama3: long wavelengths are slowed by `factor`, short ones kept, the band between interpolated.
        using var scope = NewDisposeScope();
        double lowWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
        double highWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
        var wavelen = inv.reciprocal().mul(2 * Math.PI);
        var scaled = where(wavelen.gt(lowWavelen), inv.div(s.Factor), inv);
        var smooth = wavelen.reciprocal().mul(s.OriginalMaxPositionEmbeddings).sub(s.LowFreqFactor).div(s.HighFreqFactor - s.LowFreqFactor);
        var smoothed = smooth.neg().add(1).mul(scaled).div(s.Factor).add(smooth.mul(scaled));
        var medium = wavelen.ge(highWavelen).logical_and(wavelen.le(lowWavelen));
        return where(medium, smoothed, scaled).MoveToOuterDisposeScope();
    }

    (Tensor, Tensor) Table(long length)
    {
        using var scope = NewDisposeScope();
        var t = arange(length, dtype: ScalarType.Float32, device: _device);
        var freqs = outer(t, _invFreq);
        var emb = cat(new[] { freqs, freqs }, -1);
        // owned by this object, not by whatever dispose scope the caller runs in (a table grown during a
        // generation step would otherwise be freed at the end of that step)
        return (emb.cos().DetachFromDisposeScope(), emb.sin().DetachFromDisposeScope());
    }

    /// cos and sin for the given positions (B, T) as (B, 1, T, D) in `dtype`. `needed` bounds the positions
    /// (known to the caller, so no device-to-host read per step).
    public (Tensor Cos, Tensor Sin) For(Tensor positionIds, long needed, ScalarType dtype)
    {
        // Locked: training streams (TrainingStep) run the model on several threads, and a growing table is replaced.
        lock (_grow)
        {
            if (needed > _cos.shape[0])
            {
                long length = Math.Max(needed, 2 * _cos.shape[0]);
                _cos.Dispose(); _sin.Dispose();
                (_cos, _sin) = Table(length);
            }
            using var flat = positionIds.reshape(-1);
            long b = positionIds.shape[0], t = positionIds.shape[1];
            using var c = _cos.index_select(0, flat);
            using var s = _sin.index_select(0, flat);
            return (c.view(b, 1, t, -1).to(dtype), s.view(b, 1, t, -1).to(dtype));
        }
    }

    readonly object _grow = new();

    /// x * cos + rotate_half(x) * sin, with rotate_half(x) = cat(-x2, x1).
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = cat(new[] { x2.neg(), x1 }, -1);
        return x.mul(cos).add_(rotated.mul_(sin), Runtime.KeptScalars.One).MoveToOuterDisposeScope();
    }

    public void Dispose() { _invFreq.Dispose(); _cos.Dispose(); _sin.Dispose(); }
}
