using LoraLab.Diagnostics.Profiling;
using static TorchSharp.torch;

namespace LoraLab.Models;

/// One pre-norm transformer block: x + attn(norm(x)), then + mlp(norm(x)).
public sealed class DecoderLayer : nn.Module<Tensor, Tensor>
{
    public Attention self_attn;
    public Mlp mlp;
    public RmsNorm input_layernorm, post_attention_layernorm;

    public DecoderLayer(string name, ModelConfig cfg, int index, ScalarType dtype) : base(name)
    {
        self_attn = new Attention("self_attn", cfg, index);
        mlp = new Mlp("mlp", cfg);
        input_layernorm = new RmsNorm("input_layernorm", cfg.HiddenSize, cfg.RmsNormEps, dtype);
        post_attention_layernorm = new RmsNorm("post_attention_layernorm", cfg.HiddenSize, cfg.RmsNormEps, dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => throw new NotSupportedException("use Forward(x, context)");

    public Tensor Forward(Tensor x, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        var attended = self_attn.Forward(input_layernorm.forward(x), ctx);
        var h = OpProfile.Out(ProfiledOp.Residual, OpProfile.In(ProfiledOp.Residual, x).add(attended, Runtime.KeptScalars.One));
        var fed = mlp.forward(post_attention_layernorm.forward(h));
        return OpProfile.Out(ProfiledOp.Residual, OpProfile.In(ProfiledOp.Residual, h).add(fed, Runtime.KeptScalars.One)).MoveToOuterDisposeScope();
    }
}
