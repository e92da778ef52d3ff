using static TorchSharp.torch;

namespace LoraLab.Runtime;

/// What a custom autograd function's backward hands back. TorchSharp keeps a managed handle on every tensor backward
/// returns (and on the incoming gradient it wraps) until the enclosing dispose scope ends, at the end of the backward
/// pass: each layer's input gradient would stay alive through the whole pass (on small QLoRA, ~50 MB above LoRA's
/// peak). autograd takes its own reference when backward returns, so the previous call's handle can go at the next.
public static class BackwardReturn
{
    [ThreadStatic] static Tensor? _previous;

    /// Releases the handles of `gradOutput` (this call's) and of the tensor the previous call on this thread returned;
    /// keeps `result`'s to release at the next call. Returns `result`.
    public static Tensor Of(Tensor result, Tensor gradOutput)
    {
        _previous?.Dispose();
        _previous = result;
        gradOutput.Dispose();
        return result;
    }
}
