using LoraLab.Diagnostics.Profiling;
using LoraLab.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraLab.Adapters;

/// LoRA (Hu et al. 2021, arXiv:2106.09685) on one projection:
///
///     y = W x (+ b) + s · B A dropout(x),   s = alpha / r  (alpha / sqrt(r) with rsLoRA)
///
/// A (r, in) and B (out, r) are bias-free linear weights registered on the projection as `lora_A` and `lora_B`,
/// so parameter names are PEFT's (`...q_proj.lora_A.weight`). They live in float32 whatever the base dtype, so small
/// updates are not lost to bf16 rounding. Over a bf16 base they multiply in bf16, as autocast does: A and B are cast
/// down (r × in and out × r, a few KB) rather than the input cast up, and their gradients flow back into the float32
/// weights. Over an fp16 base (fp16-mixed) the input is cast up and the delta computed in float32 (fp16's range).
/// With DoRA the adapter also carries a magnitude vector that rescales each output row (<see cref="DoraMagnitude"/>).
public sealed class LoraAdapter : IProjectionAdapter, IDisposable
{
    public Projection Base { get; }
    /// The base module's path, e.g. `model.layers.0.self_attn.q_proj`.
    public string Path { get; }
    public Linear lora_A { get; }
    public Linear lora_B { get; }
    public Dropout? lora_dropout { get; }
    /// DoRA's magnitude vector (registered as `lora_magnitude_vector`); null for plain LoRA.
    public DoraMagnitude? Dora { get; }
    public int R { get; }
    public double Alpha { get; }
    public double Scaling { get; }
    /// Active on attach. Changed only by Enable, Disable, Merge and Unmerge, which refuse every move that would
    /// count the delta twice or drop it while the weight still holds it (see <see cref="AdapterState"/>).
    public AdapterState State { get; private set; } = AdapterState.Active;

    public static readonly ScalarType Dtype = ScalarType.Float32;

    /// The dtype the adapter multiplies in over inputs `x` and base outputs `y`: bf16 over a bf16 base, else float32.
    public static ScalarType ComputeDtype(ScalarType x, ScalarType y) => x == ScalarType.BFloat16 && y == ScalarType.BFloat16 ? ScalarType.BFloat16 : Dtype;

    LoraAdapter(Projection baseLayer, string path, int r, double alpha, double scaling, double dropout, bool dora, Device device)
    {
        Base = baseLayer;
        Path = path;
        R = r;
        Alpha = alpha;
        Scaling = scaling;
        lora_A = nn.Linear(baseLayer.InFeatures, r, hasBias: false, device: device, dtype: Dtype);
        lora_B = nn.Linear(r, baseLayer.OutFeatures, hasBias: false, device: device, dtype: Dtype);
        lora_dropout = dropout > 0 ? nn.Dropout(dropout) : null;
        Dora = dora ? new DoraMagnitude(baseLayer.OutFeatures, device) : null;
        // a module starts in training mode: follow the base layer's mode (an eval-mode model must not drop)
        if (!baseLayer.training) lora_dropout?.eval();
    }

    /// Creates the adapter and registers A, B (dropout, DoRA's magnitude) on the projection. Weights are initialised separately.
    public static LoraAdapter Attach(Projection baseLayer, LoraSite site, double dropout, Device device)
    {
        var adapter = new LoraAdapter(baseLayer, site.Path, site.R, site.Alpha, site.Scaling, dropout, site.Dora, device);
        var modules = new List<(string, nn.Module)> { ("lora_A", adapter.lora_A), ("lora_B", adapter.lora_B) };
        if (adapter.lora_dropout is not null) modules.Add(("lora_dropout", adapter.lora_dropout));
        var parameters = adapter.Dora is { } d ? new[] { (MagnitudeName, d.Weight) } : null;
        baseLayer.AttachAdapter(adapter, modules, parameters);
        return adapter;
    }

    /// The magnitude's name on the projection: PEFT's saved key (`...q_proj.lora_magnitude_vector`).
    public const string MagnitudeName = "lora_magnitude_vector";

    /// B = 0 and A drawn from `generator` (a CPU generator, so the same seed gives the same adapter on any device); for
    /// PiSSA and OLoRA, A and B from the base weight, which keeps the residual (see <see cref="PrincipalInit"/>).
    public void Initialize(LoraInit init, torch.Generator generator, int pissaIterations = LoraConfig.DefaultPissaIterations)
    {
        using var _ = no_grad();
        if (init.ChangesBase()) { InitializeFromBase(init, generator, pissaIterations); return; }
        using var a = init switch
        {
            // kaiming_uniform_(a=sqrt(5)): gain sqrt(2/(1+5)), bound = sqrt(3)·gain/sqrt(fan_in) = 1/sqrt(in)
            LoraInit.Kaiming => empty(R, Base.InFeatures, dtype: Dtype).uniform_(-1 / Math.Sqrt(Base.InFeatures), 1 / Math.Sqrt(Base.InFeatures), generator),
            LoraInit.Gaussian => empty(R, Base.InFeatures, dtype: Dtype).normal_(0, 1.0 / R, generator),
            _ => throw new ArgumentOutOfRangeException(nameof(init)),
        };
        lora_A.weight!.copy_(a);
        lora_B.weight!.zero_();
    }

    /// A and B at initialisation when they were taken from the base (PiSSA, OLoRA), else null: the base now holds
    /// W − s·B₀·A₀, and the saved adapter is converted back to W (<see cref="PeftFormat"/>).
    public (Tensor A, Tensor B)? Initial { get; private set; }

    void InitializeFromBase(LoraInit init, torch.Generator generator, int iterations)
    {
        if (Base.Quantized is not null)
            throw new UserException($"{Path}: --init {init.ToString().ToLowerInvariant()} moves part of the base weight into the adapter, which needs a dense base; the base is quantized (use --method lora)");
        using var w = Base.DenseWeight(Dtype);
        var (a, b) = PrincipalInit.Factors(w, R, Scaling, init, iterations, generator);
        lora_A.weight!.copy_(a);
        lora_B.weight!.copy_(b);
        Initial = (a, b);
        using var delta = DeltaWeight();
        using var residual = w.sub(delta);
        Base.SetWeight(residual);
    }

    /// Resuming over a different start (a checkpoint's A₀, B₀, which another machine's SVD may have rounded otherwise):
    /// the base becomes W − s·B₀·A₀ of the given pair, so the adapter's saved A and B mean what they meant.
    public void RestartFrom(Tensor initialA, Tensor initialB)
    {
        if (Initial is not var (a0, b0)) throw new InvalidOperationException($"{Path}: the adapter was not initialised from its base");
        using var _ = no_grad();
        if (Same(a0, initialA) && Same(b0, initialB)) return;
        var w = DenseWeight("restore");
        using var old = b0.matmul(a0);
        using var given = initialB.matmul(initialA);
        using var restored = w.to(Dtype).add_(old, alpha: Scaling).add_(given, alpha: -Scaling);
        w.copy_(restored);
        a0.copy_(initialA);
        b0.copy_(initialB);
    }

    static bool Same(Tensor x, Tensor y)
    {
        using var eq = x.eq(y).all();
        return eq.item<bool>();
    }

    /// s · B(A(dropout(x))) in x's dtype: the LoRA branch (DoRA's rescaling is applied in AddTo).
    public Tensor Delta(Tensor x)
    {
        using var scope = NewDisposeScope();
        if (ComputeDtype(x.dtype, x.dtype) != Dtype)
        {
            var hb = lora_dropout is null ? x : lora_dropout.forward(x);
            var ab = OpProfile.Cast(lora_A.weight!, x.dtype, ProfiledOp.AdapterMatmul);
            var bb = OpProfile.Cast(lora_B.weight!, x.dtype, ProfiledOp.AdapterMatmul);
            return nn.functional.linear(nn.functional.linear(hb, ab), bb).mul_(Scaling).MoveToOuterDisposeScope();
        }
        var h = x.dtype == Dtype ? x : OpProfile.Cast(x, Dtype, ProfiledOp.AdapterMatmul);
        if (lora_dropout is not null) h = lora_dropout.forward(h);
        var d = lora_B.forward(lora_A.forward(h)).mul_(Scaling);
        if (d.dtype != x.dtype) d = OpProfile.Cast(d, x.dtype, ProfiledOp.AdapterMatmul);
        return d.MoveToOuterDisposeScope();
    }

    /// y + s · B(A(dropout(x))) for 2-D rows, added into y in place (y is consumed). In float32 the scale and the sum
    /// ride on one in-place addmm (`y += s·(a Bᵀ)`): no (rows, out) temporary forward, and none for the sum backward.
    /// Bᵀ is passed as a contiguous (r, out) copy (a few KB): with it, backward computes B's gradient as aᵀ·dy and
    /// a's as dy·B in the layouts MKL runs fast; with the transposed view of B it picked the (out, rows)·(rows, r)
    /// and (rows, out)·(out, r) forms, several times slower for r = 8 (see BENCHMARKS.md).
    public Tensor AddTo(Tensor y, Tensor x)
    {
        if (Dora is null) return AddLora(y, x);
        var t = AddLora(y, x);
        using (t)
        {
            using var scope = NewDisposeScope();
            var norms = Dora.RowNorms(this, x.dtype);
            return Dora.Apply(t, Base.Bias, norms).MoveToOuterDisposeScope();
        }
    }

    Tensor AddLora(Tensor y, Tensor x)
    {
        using var scope = NewDisposeScope();
        // float32 as is; bf16 with A and Bᵀ cast down (the class comment says why); fp16 through Delta in float32.
        var compute = ComputeDtype(x.dtype, y.dtype);
        if (x.dtype != compute || y.dtype != compute)
        {
            using (y) return y.add(Delta(x)).MoveToOuterDisposeScope();
        }
        var h = lora_dropout is null ? x : lora_dropout.forward(x);
        var a = nn.functional.linear(h, compute == Dtype ? lora_A.weight! : OpProfile.Cast(lora_A.weight!, compute, ProfiledOp.AdapterMatmul));
        var bt = lora_B.weight!.t().contiguous();
        if (compute != Dtype) bt = OpProfile.Cast(bt, compute, ProfiledOp.AdapterMatmul);
        return y.addmm_(a, bt, beta: 1, alpha: (float)Scaling); // returns y itself, which lives outside this scope
    }

    /// The dense update s·B·A (out, in) in float32; the caller owns it.
    public Tensor DeltaWeight()
    {
        using var _ = no_grad();
        using var ba = lora_B.weight!.matmul(lora_A.weight!);
        return ba.mul(Scaling);
    }

    public void Enable()
    {
        if (State == AdapterState.Merged)
            throw new InvalidOperationException($"{Path}: cannot enable a merged adapter (its delta is already in the base weight); unmerge it instead");
        State = AdapterState.Active;
    }

    /// Refused when merged rather than unmerging: W − s·B·A is not an exact inverse in a bf16/fp16 weight, so a
    /// disable/enable pair (e.g. an <see cref="AdaptersOff"/> scope) would leave the weights changed.
    public void Disable()
    {
        if (State == AdapterState.Merged)
            throw new InvalidOperationException($"{Path}: cannot disable a merged adapter (the base weight holds its delta); unmerge it first");
        State = AdapterState.Disabled;
    }

    /// Active → Merged: W ← W + s·B·A in place (DoRA: each row then times g); the projection then runs the base path only. Refuses a non-finite result.
    /// A disabled adapter is refused rather than merged: disabled promises the base output, and merging would either
    /// break that or need "disabled but merged", the two-flag state that let the delta be applied twice.
    public void Merge()
    {
        if (State != AdapterState.Active) throw new InvalidOperationException(State == AdapterState.Merged
            ? $"{Path}: adapter already merged"
            : $"{Path}: cannot merge a disabled adapter; enable it first");
        using var merged = MergedWeight(out var scale);
        try { CheckFinite(merged); }
        catch { scale?.Dispose(); throw; }
        using (no_grad()) DenseWeight("merge").copy_(merged);
        _mergeScale = scale; // DoRA's g, which the unmerge divides out
        Dora?.BaseChanged();
        State = AdapterState.Merged;
    }

    /// ReLoRA's restart (Lialin et al. 2023): W ← W + s·B·A in W's dtype, then A drawn afresh from `generator` and
    /// B = 0, so the output is unchanged (up to W's rounding) and the adapter stays active for the next low-rank
    /// update. A non-finite merged weight is refused before anything changes. DoRA merges its row scale too
    /// (W ← g ⊙ (W + s·B·A)) and restarts its magnitude at the new row norms, so g = 1 again.
    public void MergeAndReinitialize(LoraInit init, torch.Generator generator)
    {
        if (State != AdapterState.Active) throw new InvalidOperationException($"{Path}: only an active adapter restarts (this one is {State})");
        using (var merged = MergedWeight(out var scale))
        {
            scale?.Dispose();
            CheckFinite(merged);
            using (no_grad()) DenseWeight("merge").copy_(merged);
        }
        Dora?.BaseChanged();
        Initialize(init, generator);
        Dora?.Reset(this, Dtype); // B = 0: the norms are ‖W‖ in any compute dtype
    }

    /// Merged → Active: W ← W − s·B·A (DoRA: W'/g − s·B·A), the inverse of <see cref="Merge"/> (exact up to rounding in W's dtype).
    public void Unmerge()
    {
        if (State != AdapterState.Merged) throw new InvalidOperationException($"{Path}: adapter is not merged");
        var w = DenseWeight("unmerge");
        using var _ = no_grad();
        using var delta = DeltaWeight();
        using var restored = w.to(Dtype, copy: true);
        if (_mergeScale is not null) { restored.div_(_mergeScale); _mergeScale.Dispose(); _mergeScale = null; }
        restored.sub_(delta);
        w.copy_(restored);
        Dora?.BaseChanged();
        State = AdapterState.Active;
    }

    /// DoRA's row scale at the last merge, which the unmerge divides out.
    Tensor? _mergeScale;

    /// The weight a merge writes, as a new float32 tensor (W itself untouched): W + s·B·A, and for DoRA each row times
    /// g = m / ‖W + s·B·A‖ (`scale`, (out, 1), which the caller owns; null without DoRA). The caller owns the result.
    public Tensor MergedWeight(out Tensor? scale)
    {
        var w = DenseWeight("merge");
        using var _ = no_grad();
        using var delta = DeltaWeight();
        var merged = w.to(Dtype, copy: true).add_(delta);
        scale = Dora?.MergeScale(merged);
        if (scale is not null) merged.mul_(scale);
        return merged;
    }

    void CheckFinite(Tensor merged)
    {
        using var finite = merged.isfinite().all();
        if (!finite.item<bool>()) throw new UserException($"{Path}: merging the adapter gives non-finite weights; not merged");
    }

    /// What the adapter holds outside the projection's parameters: PiSSA's start, a merge's DoRA scale, DoRA's ‖W‖².
    /// The projection calls it when the model is disposed.
    public void Dispose()
    {
        if (Initial is var (a0, b0)) { a0.Dispose(); b0.Dispose(); Initial = null; }
        _mergeScale?.Dispose();
        _mergeScale = null;
        Dora?.Dispose();
    }

    public IEnumerable<Parameter> Parameters() => Dora is null ? new[] { lora_A.weight!, lora_B.weight! } : new[] { lora_A.weight!, lora_B.weight!, Dora.Weight };

    Parameter DenseWeight(string verb) => Base.Weight ?? throw new UserException(
        $"{Path}: cannot {verb} a LoRA adapter into a quantized base weight; load the base model in bf16 or fp32 to merge");
}
