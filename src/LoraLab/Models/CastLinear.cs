using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Models;

/// `x Wᵀ + b` for fp32 master weights under half-precision compute (full fine-tuning in bf16): the weight is cast to
/// x's dtype for the product and cast again in backward, rather than autograd keeping each cast copy from forward to
/// backward (half the model's size again at the moment activations peak). The weight's gradient comes back in fp32.
public static class CastLinear
{
    /// `x Wᵀ + b` in x's dtype: plain `linear` when the weight is already in it.
    public static Tensor Apply(Tensor x, Tensor weight, Tensor? bias)
    {
        if (weight.dtype == x.dtype) return nn.functional.linear(x, weight, bias);
        if (!is_grad_enabled() || !(x.requires_grad || weight.requires_grad || bias?.requires_grad == true))
        {
            using var w = weight.to(x.dtype);
            using var b = bias?.to(x.dtype);
            return nn.functional.linear(x, w, b);
        }
        using var scope = NewDisposeScope();
        var y = bias is null ? Function.apply(x, weight) : Function.apply(x, weight, bias);
        return y.MoveToOuterDisposeScope();
    }

    /// The weight and bias parameters themselves, to write their .grad (TorchSharp takes only tensors saved for
    /// backward as tensors), and which inputs want a gradient.
    sealed record Inputs(Tensor Weight, Tensor? Bias, bool InputGrad);

    sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "CastLinear";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            var weight = (Tensor)vars[1];
            var bias = vars.Length > 2 ? (Tensor)vars[2] : null;
            ctx.save_data("inputs", new Inputs(weight, bias, x.requires_grad));
            ctx.save_for_backward(new List<Tensor> { x });
            using var _ = no_grad();
            using var w = weight.to(x.dtype);
            using var b = bias?.to(x.dtype);
            return nn.functional.linear(x, w, b);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var inputs = (Inputs)ctx.get_data("inputs");
            var weight = inputs.Weight;
            using var x = ctx.get_saved_variables()[0];
            using var _ = no_grad();
            long outFeatures = weight.shape[0], inFeatures = weight.shape[1];
            using var dy = gradOutput.reshape(-1, outFeatures);
            Tensor? dx = null;
            if (inputs.InputGrad)
            {
                using var w = weight.to(gradOutput.dtype);
                dx = gradOutput.matmul(w);
            }
            // The parameters' fp32 gradients go into .grad here: returned, autograd would copy each one (the managed
            // handle makes it shared) and the copies would wait for the end of the pass.
            if (weight.requires_grad)
            {
                using var rows = x.reshape(-1, inFeatures);
                using var product = dy.t().mm(rows);
                AccumulateInto(weight, product);
            }
            if (inputs.Bias is { requires_grad: true } bias)
            {
                using var sum = dy.sum(0, type: ScalarType.Float32); // accumulated and kept in fp32
                AccumulateInto(bias, sum);
            }
            var grads = new List<Tensor> { dx is null ? null! : Runtime.BackwardReturn.Of(dx, gradOutput), null! };
            if (inputs.Bias is not null) grads.Add(null!);
            return grads;
        }

        /// `grad` (the compute dtype) added into `parameter.grad` in the parameter's dtype.
        static void AccumulateInto(Tensor parameter, Tensor grad)
        {
            using var up = grad.to(parameter.dtype); // a mixed-dtype add_ would cast into a fresh tensor itself
            if (parameter.grad is { } existing) existing.add_(up);
            else parameter.grad = up.alias();
        }
    }
}
