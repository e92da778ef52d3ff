using LoraLab.Models;
using static TorchSharp.torch;

namespace LoraLab.Tests.Tasks;

/// Teaches the tiny-chat model a few sequences by heart, so a task's answer is known by construction.
static class TinyTraining
{
    /// Adam on the given sequences, every token a target: all weights (full fine-tuning), or only `trainable`.
    public static void Train(CausalLM model, IReadOnlyList<int[]> sequences, int steps = 25, IEnumerable<TorchSharp.Modules.Parameter>? trainable = null, double lr = 1e-2)
    {
        var ps = (trainable ?? model.parameters()).ToList();
        foreach (var p in ps) p.requires_grad = true;
        using var opt = optim.Adam(ps, lr: lr);
        model.train();
        for (int step = 0; step < steps; step++)
            foreach (var s in sequences)
            {
                using var scope = NewDisposeScope();
                var ids = tensor(s.Select(i => (long)i).ToArray()).unsqueeze(0);
                var logits = model.Forward(ids[.., ..^1]);
                var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), ids[.., 1..].reshape(-1));
                opt.zero_grad();
                loss.backward();
                opt.step();
            }
        model.eval();
    }
}
