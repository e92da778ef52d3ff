using LoraLab.Diagnostics.Profiling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraLab.Models;

/// A frozen-or-trainable base weight in a form other than a dense parameter (e.g. NF4-packed).
/// It computes `x @ W^T` itself so it can dequantize per call and free the dense copy right after.
public interface IBaseWeight
{
    Tensor Linear(Tensor x);
    /// The dense weight (out, in) in the given dtype; the caller owns the result.
    Tensor Dequantize(ScalarType dtype);
    long StorageBytes { get; }
}

/// An adapter on a projection's output (LoRA): `y = base(x) + adapter(x)` while its state is Active.
public interface IProjectionAdapter
{
    /// The one record of whether the projection adds the delta; changed only through the adapter's transitions.
    AdapterState State { get; }
    /// Disabled → Active (Active: no change). Refuses a merged adapter: its delta is already in the weight.
    void Enable();
    /// Active → Disabled (Disabled: no change). Refuses a merged adapter: the weight still holds its delta.
    void Disable();
    Tensor Delta(Tensor x);
    /// The adapted output from `baseOutput` (`baseOutput + Delta(x)` for LoRA; DoRA also rescales it) for 2-D `x` (rows, in)
    /// and `baseOutput` (rows, out). Consumes `baseOutput`: the adapter
    /// may add into it in place and return it, or return a new tensor and dispose it; the caller owns the result.
    Tensor AddTo(Tensor baseOutput, Tensor x);
}

/// A linear layer `y = x W^T (+ b)` named like HF's nn.Linear (`weight`, `bias`), whose base weight can be
/// dense or quantized and which can carry an adapter. Weights are registered when loaded, so a quantized
/// model never holds a dense copy.
public sealed class Projection : nn.Module<Tensor, Tensor>
{
    public long InFeatures { get; }
    public long OutFeatures { get; }
    public bool HasBias { get; }
    public Parameter? Weight { get; private set; }
    public Parameter? Bias { get; private set; }
    public IBaseWeight? Quantized { get; private set; }
    public IProjectionAdapter? Adapter { get; private set; }
    /// Whether forward adds the adapter's delta (an adapter in state Active); disabled or merged ones are skipped.
    public bool AdapterActive => Adapter is { State: AdapterState.Active };

    public Projection(string name, long inFeatures, long outFeatures, bool bias) : base(name)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        HasBias = bias;
    }

    /// Turns a dense weight into a packed base weight (quantization). Set before loading; null = keep dense.
    public Func<Tensor, (IBaseWeight Weight, nn.Module Holder)>? Quantizer { get; set; }

    /// Registers (or overwrites in place) the base weight; quantizes it when a Quantizer is set.
    public void SetWeight(Tensor w)
    {
        if (w.shape.Length != 2 || w.shape[0] != OutFeatures || w.shape[1] != InFeatures)
            throw new UserException($"{name}.weight: expected shape [{OutFeatures}, {InFeatures}], got [{string.Join(", ", w.shape)}]");
        using var _ = no_grad();
        if (Quantizer != null && Weight is null)
        {
            if (Quantized != null) throw new InvalidOperationException($"{name}: base weight already quantized");
            var (q, holder) = Quantizer(w);
            Quantized = q;
            register_module("quant", holder);
            return;
        }
        if (Quantized != null) throw new InvalidOperationException($"{name}: the base weight is quantized");
        if (Weight is null) { using var detached = w.detach(); Weight = OwnedParameter.From(detached.clone()); register_parameter("weight", Weight); }
        else Weight.copy_(w);
    }

    /// Stores the dense base weight in `dtype` from now on: a ReLoRA run keeps its adapted weights in fp32, so each
    /// merged update is added exactly rather than rounded to bf16. Forward casts it to the input's dtype (CastLinear).
    public void StoreWeightAs(ScalarType dtype)
    {
        if (Weight is null) throw new InvalidOperationException($"{name}: {(Quantized is null ? "weight not loaded" : "the base weight is quantized")}");
        if (Weight.dtype == dtype) return;
        using var _ = no_grad();
        var old = Weight;
        using (var detached = old.detach()) Weight = OwnedParameter.From(detached.to(dtype), old.requires_grad);
        ConditionallyRegisterParameter("weight", Weight); // replaces the registered parameter under the same name
        old.Dispose();
    }

    public void SetBias(Tensor b)
    {
        if (!HasBias) throw new UserException($"{name}.bias: this projection has no bias");
        if (b.shape.Length != 1 || b.shape[0] != OutFeatures)
            throw new UserException($"{name}.bias: expected shape [{OutFeatures}], got [{string.Join(", ", b.shape)}]");
        using var _ = no_grad();
        if (Bias is null) { using var detached = b.detach(); Bias = OwnedParameter.From(detached.clone()); register_parameter("bias", Bias); }
        else Bias.copy_(b);
    }

    public void AttachAdapter(IProjectionAdapter adapter, IEnumerable<(string Name, nn.Module Module)> submodules,
        IEnumerable<(string Name, Parameter Param)>? parameters = null)
    {
        if (Adapter != null) throw new InvalidOperationException($"{name}: already has an adapter");
        foreach (var (n, m) in submodules) register_module(n, m);
        foreach (var (n, p) in parameters ?? []) register_parameter(n, p);
        Adapter = adapter;
    }

    /// The adapter's own tensors go with the projection (its weights are registered here and freed by the module).
    protected override void Dispose(bool disposing)
    {
        if (disposing) (Adapter as IDisposable)?.Dispose();
        base.Dispose(disposing);
    }

    /// `x W^T` without the bias, whatever the weight's storage (dense, cast or quantized).
    public Tensor Product(Tensor x)
    {
        if (Quantized != null) return Quantized.Linear(x);
        return CastLinear.Apply(x, Weight ?? throw new InvalidOperationException($"{name}: weight not loaded"), null);
    }

    /// The dense weight (out, in) in `dtype` (dequantized when packed); the caller owns it.
    public Tensor DenseWeight(ScalarType dtype)
    {
        using var _ = no_grad();
        if (Quantized != null) return Quantized.Dequantize(dtype);
        return (Weight ?? throw new InvalidOperationException($"{name}: weight not loaded")).to(dtype, copy: true);
    }

    /// The base path only: `x W^T + b`.
    public Tensor BaseForward(Tensor x)
    {
        if (Quantized != null)
        {
            var y = Quantized.Linear(x);
            return Bias is null ? y : y.add_(Bias);
        }
        if (Weight is null) throw new InvalidOperationException($"{name}: weight not loaded");
        return CastLinear.Apply(x, Weight, Bias); // casts fp32 master weights under half-precision compute
    }

    public override Tensor forward(Tensor x)
    {
        if (Adapter is not { State: AdapterState.Active } adapter) return OpProfile.Out(ProfiledOp.BaseMatmul, BaseForward(OpProfile.In(ProfiledOp.BaseMatmul, x)));
        // On 2-D rows the base output is a fresh tensor, not a view, so the adapter can add into it in place
        // (autograd allows that because the base product does not save its output; on a view it would not be cheap).
        if (x.dim() == 2) return OpProfile.Out(ProfiledOp.AdapterMatmul, adapter.AddTo(BaseForward(OpProfile.In(ProfiledOp.BaseMatmul, x)), OpProfile.In(ProfiledOp.AdapterMatmul, x)));
        using var rows = x.reshape(-1, InFeatures);
        using var y = OpProfile.Out(ProfiledOp.AdapterMatmul, adapter.AddTo(BaseForward(OpProfile.In(ProfiledOp.BaseMatmul, rows)), OpProfile.In(ProfiledOp.AdapterMatmul, rows)));
        var shape = x.shape.ToArray();
        shape[^1] = OutFeatures;
        return y.view(shape);
    }
}
