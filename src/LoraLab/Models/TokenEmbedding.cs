using LoraLab.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraLab.Models;

/// Token embedding table `weight` (vocab, hidden), as HF's nn.Embedding.
public sealed class TokenEmbedding : nn.Module<Tensor, Tensor>
{
    public Parameter weight;

    public TokenEmbedding(string name, long vocab, long hidden, ScalarType dtype) : base(name)
    {
        weight = OwnedParameter.From(empty(vocab, hidden, dtype: dtype));
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids)
    {
        using var flat = ids.reshape(-1);
        using var rows = weight.requires_grad && is_grad_enabled() ? Lookup.apply(weight, flat) : weight.index_select(0, flat);
        return rows.view(ids.shape[0], ids.shape[1], weight.shape[1]);
    }

    /// The parameter, carried to backward as data (TorchSharp takes only tensors saved for backward as tensors).
    sealed record Table(Tensor Weight);

    /// The lookup with a trained table: its (vocab, hidden) gradient is accumulated into .grad directly, in a buffer
    /// kept between steps (KeptBuffers), instead of a fresh zero-filled table per step that autograd then hands over.
    sealed class Lookup : autograd.SingleTensorFunction<Lookup>
    {
        public override string Name => "EmbeddingLookup";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var weight = (Tensor)vars[0];
            var ids = (Tensor)vars[1];
            ctx.save_data("table", new Table(weight)); // the parameter itself, to write its .grad
            ctx.save_for_backward(new List<Tensor> { ids });
            using var _ = no_grad();
            return weight.index_select(0, ids);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var weight = ((Table)ctx.get_data("table")).Weight;
            var ids = ctx.get_saved_variables()[0];
            using var _ = no_grad();
            if (weight.grad is { } existing) existing.index_add_(0, ids, gradOutput, 1);
            else weight.grad = KeptBuffers.ZeroGradient(weight).index_add_(0, ids, gradOutput, 1);
            return new List<Tensor> { null!, null! };
        }
    }
}
