using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraLab.Models;

/// Parameters made from freshly created tensors. TorchSharp's Parameter takes its own handle on the data, so the
/// tensor passed in must still be disposed; left to the garbage collector it keeps its storage alive, and managed
/// memory pressure never triggers that collection (BENCHMARKS.md, "Figures from code comments": hundreds of MB).
public static class OwnedParameter
{
    public static Parameter From(Tensor data, bool requiresGrad = false)
    {
        var p = new Parameter(data, requires_grad: requiresGrad);
        data.Dispose();
        return p;
    }
}
