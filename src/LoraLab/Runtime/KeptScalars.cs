using TorchSharp;

namespace LoraLab.Runtime;

/// Scalars that live as long as the process. TorchSharp's `a.add(b)` makes a temporary Scalar for alpha = 1 and passes
/// its handle to libtorch without keeping the managed object alive through the call, so the GC can finalize it while
/// libtorch reads it (seen once in 1,795 served requests with full JIT optimisation: a 500 from c10::Scalar::toFloat).
/// The hot adds pass this one instead.
public static class KeptScalars
{
    public static readonly Scalar One = 1.ToScalar();
}
