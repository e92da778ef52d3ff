using LoraLab.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Adapters.Quantization;

/// `y = x W^T` for a packed weight, dequantizing W for the call and freeing it right after. With plain
/// autograd `linear` would save the dense W for the backward pass (each layer's, until backward runs: the
/// memory quantization saves); the custom function below saves nothing but the packed weight's handle and
/// dequantizes W again in backward for `grad_x = grad_y W`. The frozen weight gets no gradient.
public static class DequantizingLinear
{
    public static Tensor Apply(Tensor x, IBaseWeight weight)
    {
        if (!x.requires_grad || !is_grad_enabled())
        {
            using var w = weight.Dequantize(x.dtype);
            return nn.functional.linear(x, w);
        }
        // The function's own forward output is re-wrapped by autograd; the scope frees that first handle.
        using var scope = NewDisposeScope();
        return Function.apply(x, weight).MoveToOuterDisposeScope();
    }

    sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "DequantizingLinear";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            var weight = (IBaseWeight)vars[1];
            ctx.save_data("weight", weight);
            using var w = weight.Dequantize(x.dtype);
            return nn.functional.linear(x, w);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
        {
            var weight = (IBaseWeight)ctx.get_data("weight");
            using var w = weight.Dequantize(gradOutput.dtype);
            return new List<Tensor> { Runtime.BackwardReturn.Of(gradOutput.matmul(w), gradOutput), null! };
        }
    }
}
