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
        using var rows = weight.index_select(0, flat);
        return rows.view(ids.shape[0], ids.shape[1], weight.shape[1]);
    }
}
