using LoraLab.Diagnostics.Profiling;
using static TorchSharp.torch;

namespace LoraLab.Models;

/// SwiGLU feed-forward: down(silu(gate(x)) * up(x)).
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    public Projection gate_proj, up_proj, down_proj;

    public Mlp(string name, ModelConfig cfg) : base(name)
    {
        gate_proj = new Projection("gate_proj", cfg.HiddenSize, cfg.IntermediateSize, false);
        up_proj = new Projection("up_proj", cfg.HiddenSize, cfg.IntermediateSize, false);
        down_proj = new Projection("down_proj", cfg.IntermediateSize, cfg.HiddenSize, false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var gate = gate_proj.forward(x);
        using var up = up_proj.forward(x);
        using var act = OpProfile.Out(ProfiledOp.Activation, nn.functional.silu(OpProfile.In(ProfiledOp.Activation, gate)).mul_(up));
        return down_proj.forward(act);
    }
}
