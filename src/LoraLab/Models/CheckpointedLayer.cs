using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Models;

/// Activation checkpointing of one decoder layer: the forward pass runs without recording a graph and keeps only
/// the layer's input; backward runs the layer again with a graph and differentiates that. The random-number state
/// is put back for the re-run (so dropout draws the same mask) and restored afterwards.
public static class CheckpointedLayer
{
    public static Tensor Forward(DecoderLayer layer, Tensor x, ForwardContext ctx)
    {
        var trainable = layer.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToList();
        // The layer's trained parameters are inputs too: with a frozen input (layer 0 under LoRA) the node would
        // otherwise not be part of the graph and the adapters would get no gradient.
        var args = new List<object> { x, new State(layer, ctx) };
        args.AddRange(trainable);
        using var scope = NewDisposeScope();
        return Function.apply(args.ToArray()).MoveToOuterDisposeScope();
    }

    sealed class State
    {
        public State(DecoderLayer layer, ForwardContext ctx) { Layer = layer; Context = ctx; }
        public DecoderLayer Layer { get; }
        /// Valid during forward only: its tensors belong to the caller; backward uses the saved copies.
        public ForwardContext Context { get; }
        public byte[]? Rng { get; set; }
    }

    sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "CheckpointedLayer";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            var state = (State)vars[1];
            var c = state.Context;
            state.Rng = NeedsRng(state.Layer) ? RngBytes() : null;
            ctx.save_data("state", state);
            // Saved variables keep their own references to the shared tensors (null entries are allowed).
            ctx.save_for_backward(new List<Tensor> { x, c.Cos, c.Sin, c.Mask!, c.GroupedMask! });
            return state.Layer.Forward(x, c);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var state = (State)ctx.get_data("state");
            var saved = ctx.get_saved_variables();
            var x = saved[0];
            var trainable = state.Layer.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToList();
            byte[]? outerRng = null;
            if (state.Rng is not null) { outerRng = RngBytes(); SetRng(state.Rng); }
            try
            {
                using var scope = NewDisposeScope();
                using var grad = enable_grad();
                var input = x.requires_grad ? x.detach().requires_grad_(true) : x.detach();
                var c = new ForwardContext { Cos = saved[1], Sin = saved[2], Mask = saved[3], GroupedMask = saved[4], IsCausal = state.Context.IsCausal };
                var y = state.Layer.Forward(input, c);
                var wrt = new List<Tensor>();
                if (input.requires_grad) wrt.Add(input);
                wrt.AddRange(trainable);
                var grads = autograd.grad(new[] { y }, wrt, new[] { gradOutput }, retain_graph: false, create_graph: false, allow_unused: true);
                var result = new List<Tensor> { input.requires_grad ? grads[0].MoveToOuterDisposeScope() : null!, null! };
                result.AddRange(grads.Skip(input.requires_grad ? 1 : 0).Select(g => g?.MoveToOuterDisposeScope()!));
                return result;
            }
            finally
            {
                if (outerRng is not null) SetRng(outerRng);
            }
        }

        static bool NeedsRng(DecoderLayer layer) =>
            layer.modules().Any(m => m is TorchSharp.Modules.Dropout d && d.training);

        static byte[] RngBytes()
        {
            using var t = random.get_rng_state();
            return t.data<byte>().ToArray();
        }

        static void SetRng(byte[] bytes)
        {
            using var t = tensor(bytes, dtype: ScalarType.Byte);
            random.set_rng_state(t);
        }
    }
}
