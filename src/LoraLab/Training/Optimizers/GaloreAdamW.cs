using TorchSharp;
using static TorchSharp.torch;
using Ts = TorchSharp.Modules;

namespace LoraLab.Training.Optimizers;

/// The parameter group whose 2-D weights GaLore projects: each gradient G (out × in) onto its top-`Rank` singular
/// subspace, recomputed from the SVD of the current gradient every `UpdateEvery` steps; the projected-back update is
/// multiplied by `Scale` (galore-torch's rank, update_proj_gap and scale).
public sealed class GaloreParamGroup : Ts.AdamW.ParamGroup
{
    public GaloreParamGroup(IEnumerable<Ts.Parameter> parameters, double lr, double beta1, double beta2, double eps, double weightDecay,
        int rank, int updateEvery, double scale)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, amsgrad: false, maximize: false)
    {
        Rank = rank; UpdateEvery = updateEvery; Scale = scale;
    }

    public int Rank { get; }
    public int UpdateEvery { get; }
    public double Scale { get; }
}

/// One weight's state: Adam's moments and step count (bias correction and the refresh schedule) and, for a projected
/// weight, its projection P (in × r: the right singular vectors, or out × r: the left ones) with the moments in the
/// projected shape (out × r when out ≥ in, else r × in). Saved in that order, so a checkpoint restores P too.
public sealed class GaloreState(Ts.Parameter parameter) : Ts.OptimizerState(parameter), IDisposable
{
    public long Step;
    public required Tensor ExpAvg, ExpAvgSq;
    /// Null for a weight on plain AdamW.
    public Tensor? Projection;
    /// out ≥ in: R = G·P and the update N·Pᵀ; otherwise R = Pᵀ·G and the update P·N.
    public bool Right;

    /// The tensors are made in their shapes by GaloreAdamW.add_param_group; nothing to do from options.
    public override void Initialize(Ts.OptimizerOptions options) { }

    public override void SaveStateDict(BinaryWriter writer)
    {
        writer.Write(Step);
        ExpAvg.Save(writer);
        ExpAvgSq.Save(writer);
        writer.Write(Projection is not null);
        Projection?.Save(writer);
    }

    /// Into the tensors this optimizer made (TorchSharp's Load refuses another shape or dtype).
    public override void LoadStateDict(BinaryReader reader)
    {
        Step = reader.ReadInt64();
        ExpAvg.Load(reader);
        ExpAvgSq.Load(reader);
        if (reader.ReadBoolean() != Projection is not null)
            throw new InvalidDataException(Projection is null ? "a projection for a weight on plain AdamW" : "no projection for a projected weight");
        Projection?.Load(reader);
    }

    public override void LoadStateDict(Ts.OptimizerState source)
    {
        var s = (GaloreState)source;
        Step = s.Step;
        ExpAvg.copy_(s.ExpAvg);
        ExpAvgSq.copy_(s.ExpAvgSq);
        Projection?.copy_(s.Projection!);
    }

    public void Dispose()
    {
        ExpAvg.Dispose();
        ExpAvgSq.Dispose();
        Projection?.Dispose();
    }
}

/// GaLore (Zhao et al. 2024, arXiv:2403.03507) on AdamW: one optimizer for a full-parameter run. The group made by
/// the constructor is plain AdamW (libtorch's fused kernel, as OptimizerFactory's AdamW); a GaloreParamGroup added
/// after it is updated as the paper's Algorithm 1 (and galore-torch's GaLoreAdamW) does: at steps 1, T+1, 2T+1, ...
/// P is taken from the SVD of that step's gradient; R is the gradient projected by P; Adam's moments and bias
/// correction (torch.optim.AdamW's formula) run on R; the normalised update N = (m / bc1) / (√(v / bc2) + ε) goes
/// back to the weight's shape, times the scale, at the learning rate. The moments are kept across a refresh, as the
/// paper and galore-torch keep them. Weight decay is AdamW's, decoupled, on the whole weight, before the update.
/// Gradient clipping's factor (IGradientFactor) multiplies G before the projection (the same as multiplying R).
public sealed class GaloreAdamW : Ts.OptimizerHelper, IGradientFactor
{
    public GaloreAdamW(IEnumerable<Ts.Parameter> dense, double lr, double beta1, double beta2, double eps, double weightDecay)
    {
        _defaults = new Ts.AdamW.Options
        {
            LearningRate = lr, InitialLearningRate = lr, beta1 = beta1, beta2 = beta2, eps = eps, weight_decay = weightDecay, amsgrad = false, maximize = false,
        };
        _parameter_groups = new List<Ts.ParamGroup>();
        add_param_group(new Ts.AdamW.ParamGroup(dense, lr, beta1, beta2, eps, weightDecay));
    }

    public double GradientFactor { get; set; } = 1;

    /// AdamW's hyper-parameters in every group (a GaloreParamGroup adds rank, interval and scale). A projected weight's
    /// state is made in the projected shape: the weight-sized moments are never allocated.
    public override void add_param_group(Ts.ParamGroup group)
    {
        if (group is not Ts.AdamW.ParamGroup adam) throw new ArgumentException($"GaloreAdamW takes AdamW parameter groups, not {group.GetType().Name}");
        var o = adam.Options;
        if (o.amsgrad == true || o.maximize == true) throw new ArgumentException("GaloreAdamW has neither amsgrad nor maximize");
        o.InitialLearningRate = o.LearningRate!.Value;
        var g = group as GaloreParamGroup;
        foreach (var p in group.Parameters)
            _state[p.Handle] = g is null
                ? new GaloreState(p) { ExpAvg = zeros_like(p), ExpAvgSq = zeros_like(p) }
                : Projected(p, g.Rank);
        _parameter_groups.Add(group);
    }

    static GaloreState Projected(Ts.Parameter p, int rank)
    {
        if (p.dim() != 2) throw new ArgumentException($"GaLore projects 2-D weights; got shape [{string.Join(", ", p.shape)}]");
        long rows = p.shape[0], cols = p.shape[1];
        if (rank > Math.Min(rows, cols)) throw new ArgumentException($"GaLore rank {rank} is above the smaller side of a {rows} x {cols} weight");
        bool right = rows >= cols;
        long[] moments = right ? [rows, rank] : [rank, cols];
        long[] projection = right ? [cols, rank] : [rows, rank];
        return new GaloreState(p)
        {
            Right = right,
            ExpAvg = zeros(moments, dtype: p.dtype, device: p.device),
            ExpAvgSq = zeros(moments, dtype: p.dtype, device: p.device),
            Projection = zeros(projection, dtype: p.dtype, device: p.device),
        };
    }

    public override Tensor step(Func<Tensor>? closure = null)
    {
        var loss = StepRunner.Closure(closure);
        double factor = GradientFactor;
        GradientFactor = 1;
        var groups = _parameter_groups.ToList();
        AdamStep.Run(groups.Where(g => g is not GaloreParamGroup), _state, decoupled: true, fused: true, factor, g =>
        {
            var o = (Ts.AdamW.Options)g.Options;
            return new AdamHyper(o.LearningRate!.Value, o.beta1!.Value, o.beta2!.Value, o.eps!.Value, o.weight_decay!.Value, false, false);
        }, st => { var s = (GaloreState)st; return new AdamSlots(s.ExpAvg, s.ExpAvgSq, null, () => ++s.Step); });
        foreach (var g in groups.OfType<GaloreParamGroup>())
            StepRunner.ForEach([g], _state, factor, (_, p, grad, st) => Update(g, p, grad, (GaloreState)st), _ => false);
        return loss!;
    }

    /// One projected weight's step; every temporary is freed by StepRunner's scope.
    static void Update(GaloreParamGroup g, Ts.Parameter p, Tensor grad, GaloreState s)
    {
        var o = g.Options;
        double lr = o.LearningRate!.Value, beta1 = o.beta1!.Value, beta2 = o.beta2!.Value, eps = o.eps!.Value, wd = o.weight_decay!.Value;
        var proj = s.Projection!;
        long step = ++s.Step;
        if ((step - 1) % g.UpdateEvery == 0) Refresh(s, grad, g.Rank);
        var r = s.Right ? grad.mm(proj) : proj.t().mm(grad);
        if (wd != 0) p.mul_(1 - lr * wd);
        s.ExpAvg.mul_(beta1).add_(r, alpha: 1 - beta1);
        s.ExpAvgSq.mul_(beta2).addcmul_(r, r, value: 1 - beta2);
        double bc1 = 1 - Math.Pow(beta1, step), bc2 = 1 - Math.Pow(beta2, step);
        var denom = s.ExpAvgSq.sqrt().div_(Math.Sqrt(bc2)).add_(eps);
        var n = s.ExpAvg.div(denom);
        var back = s.Right ? n.mm(proj.t()) : proj.mm(n);
        p.add_(back, alpha: -(lr * g.Scale / bc1));
    }

    /// P from the SVD of this step's gradient (in float32: libtorch's SVD takes no half precision): the first r right
    /// singular vectors when out ≥ in, else the first r left ones.
    static void Refresh(GaloreState s, Tensor grad, int rank)
    {
        var (u, _, vh) = linalg.svd(grad.to(ScalarType.Float32), fullMatrices: false);
        s.Projection!.copy_(s.Right ? vh.narrow(0, 0, rank).t() : u.narrow(1, 0, rank));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (var (_, state) in _state) ((GaloreState)state).Dispose();
        base.Dispose(disposing);
    }
}
