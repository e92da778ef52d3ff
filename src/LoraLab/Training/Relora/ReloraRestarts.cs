using LoraLab.Adapters;
using LoraLab.ModelFiles;
using LoraLab.Models;
using LoraLab.Training.Optimizers;
using TorchSharp;
using static TorchSharp.torch;

namespace LoraLab.Training.Relora;

/// ReLoRA (Lialin et al. 2023, arXiv:2307.05695): a sequence of low-rank updates whose sum has high rank. Every
/// `Every` optimizer steps each adapter is merged into its base weight and restarted (A drawn afresh, B = 0), and
/// 99% of the adapters' optimizer moments are pruned (MomentPruning); the jagged schedule (LrSchedule) re-warms the
/// learning rate after each restart.
///
/// The adapted base weights are kept in fp32 whatever the compute dtype (as full fine-tuning keeps master weights):
/// a merged update is small against its weight, and bf16's 8-bit mantissa would round most of it away at every
/// restart. Only the adapted modules pay for it (2 more bytes per weight over a bf16 base); the rest stay as loaded.
public sealed class ReloraRestarts
{
    readonly IReadOnlyList<LoraAdapter> _adapters;
    readonly LoraInit _init;
    readonly long _seed;

    /// Optimizer steps between restarts.
    public int Every { get; }
    public IReadOnlyList<LoraAdapter> Adapters => _adapters;

    ReloraRestarts(IReadOnlyList<LoraAdapter> adapters, int every, LoraInit init, long seed)
    {
        _adapters = adapters; Every = every; _init = init; _seed = seed;
    }

    /// Restarts for the adapters attached to `model`, re-initialised as `init` from generators derived from `seed`.
    /// Their base weights are stored in fp32, read again from `modelDir` (the folder the model was loaded from; null
    /// for a model made in memory) when the model holds them in a half precision, which would have rounded them.
    public static ReloraRestarts Attach(CausalLM model, int every, LoraInit init, long seed, string? modelDir)
    {
        if (every < 1) throw new ArgumentOutOfRangeException(nameof(every), every, "restarts need at least one step between them");
        var adapters = LoraInjector.Adapters(model);
        if (adapters.Count == 0) throw new InvalidOperationException("ReLoRA needs LoRA adapters on the model");
        using var files = modelDir is null || model.WeightDtype == ScalarType.Float32 ? null : CheckpointFiles.Open(modelDir);
        foreach (var a in adapters)
        {
            a.Base.StoreWeightAs(ScalarType.Float32);
            if (files is not null)
            {
                using var exact = files.Read(a.Path + ".weight", ScalarType.Float32, model.Device);
                using (no_grad()) a.Base.Weight!.copy_(exact);
            }
            // DoRA's magnitude started at the half-precision weight's norms: start it again at the fp32 ones (B = 0)
            if (a.Dora is { } dora) { dora.BaseChanged(); dora.Reset(a, ScalarType.Float32); }
        }
        return new ReloraRestarts(adapters, every, init, seed);
    }

    /// Whether a restart follows optimizer step `step` (1-based).
    public bool DueAfter(int step) => step > 0 && step % Every == 0;

    /// Restarts completed by the end of step `step`.
    public int CountAt(int step) => step / Every;

    /// The restart after step `step`: every adapter merged and re-initialised, then the moments of its A and B
    /// pruned in `optimizer`. Restart n draws its A's from a generator seeded by (seed, n), walked in model order, so
    /// a resumed run draws the same ones and the run's global generator (dropout, data) is left alone.
    public void Restart(int step, optim.Optimizer optimizer)
    {
        var moments = optimizer as IMomentState
            ?? throw new InvalidOperationException($"{optimizer.GetType().Name} does not expose its moments for ReLoRA's reset");
        using var generator = new torch.Generator(GeneratorSeed(_seed, CountAt(step)), CPU);
        foreach (var a in _adapters)
        {
            a.MergeAndReinitialize(_init, generator);
            // DoRA's magnitude keeps its value across a restart (g·‖W + s·B·A‖ = m), so it keeps its moments too
            foreach (var p in a.Parameters().Where(p => a.Dora is null || p.Handle != a.Dora.Weight.Handle)) MomentPruning.Prune(moments.MomentsOf(p));
        }
    }

    /// Restart n's seed, apart from the run's seed itself (which drew the first adapter).
    static ulong GeneratorSeed(long seed, int restart) => unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)restart);

    /// The current base weight (fp32) of every adapted module under its HF name (`….q_proj.weight`): what a
    /// checkpoint must hold besides the adapter, since restarts changed them from the model folder's.
    public IEnumerable<(string Name, Tensor Weight)> BaseWeights() =>
        _adapters.Select(a => (a.Path + ".weight", (Tensor)a.Base.Weight!));

    /// Each adapted module's weight with the current adapter merged in (fp32, W + s·B·A; DoRA: g ⊙ (W + s·B·A), as
    /// Merge writes it: LoraAdapter.MergedWeight), moved to the CPU; the caller owns the tensors. The run's final model.
    public Dictionary<string, Tensor> MergedWeights()
    {
        var merged = new Dictionary<string, Tensor>();
        try
        {
            using var _ = no_grad();
            foreach (var a in _adapters)
            {
                var m = a.MergedWeight(out var scale);
                scale?.Dispose();
                var onCpu = m.cpu();
                if (!ReferenceEquals(onCpu, m)) m.Dispose(); // on the CPU already, cpu() hands back the same tensor
                merged[a.Path + ".weight"] = onCpu;
            }
            return merged;
        }
        catch
        {
            foreach (var t in merged.Values) t.Dispose();
            throw;
        }
    }
}
