using static TorchSharp.torch;
using Ts = TorchSharp.Modules;

namespace LoraLab.Training.Optimizers;

/// Bytes an optimizer's state tensors take (Adam's moments, SGD's momentum buffers, GaLore's projected moments and
/// projections), counted from the tensors themselves: what `bench` reports and the GaLore memory test measures.
public static class OptimizerStateBytes
{
    public static long Of(optim.Optimizer opt) => opt is Ts.OptimizerHelper h
        ? h.state_dict().State.Sum(Of)
        : throw new ArgumentException($"{opt.GetType().Name}: not a managed optimizer");

    static long Of(Ts.OptimizerState s) => s switch
    {
        GaloreState g => Bytes(g.ExpAvg) + Bytes(g.ExpAvgSq) + Bytes(g.Projection),
        Ts.AdamW.State a => Bytes(a.exp_avg) + Bytes(a.exp_avg_sq) + Bytes(a.max_exp_avg_sq),
        Ts.Adam.State a => Bytes(a.exp_avg) + Bytes(a.exp_avg_sq) + Bytes(a.max_exp_avg_sq),
        Ts.SGD.State m => Bytes(m.momentum_buffer),
        _ => throw new ArgumentException($"{s.GetType().Name}: unknown optimizer state"),
    };

    static long Bytes(Tensor? t) => t is null ? 0 : t.numel() * t.element_size();
}
