using LoraLab.ModelFiles;
using static TorchSharp.torch;

namespace LoraLab.Adapters.Analysis;

/// `loralab analyze`: the spectrum of every module of an adapter, from its factors (the r × r core, never the
/// out × in ΔW); with the base folder, also each ΔW's size against its frozen weight.
public static class AdapterAnalyzer
{
    public static IReadOnlyList<ModuleSpectrum> Analyze(string adapterDir, string? baseDir = null)
    {
        using var adapter = AdapterFactors.Read(adapterDir);
        using var weights = baseDir is null ? null : CheckpointFiles.Open(baseDir);
        var result = new List<ModuleSpectrum>();
        foreach (var m in adapter.Modules.OrderBy(m => m.Layer < 0 ? int.MaxValue : m.Layer).ThenBy(m => ModuleOrder(m.Module)))
        {
            using var scope = NewDisposeScope();
            var s = FactoredSvd.SingularValues(m.B.mul(m.Scaling), m.A).data<double>().ToArray();
            double norm = Math.Sqrt(s.Sum(x => x * x));
            double? relative = weights is null ? null : norm / BaseNorm(weights, m, baseDir!);
            result.Add(new ModuleSpectrum(m.Path, m.Layer, m.Module, m.R, s,
                EffectiveRank.AtEnergy(s, 0.90), EffectiveRank.AtEnergy(s, 0.99), norm, relative));
        }
        return result;
    }

    /// Llama's order of projections in a layer (q, k, v, o, gate, up, down), other names after them.
    public static int ModuleOrder(string module) => Array.IndexOf(Order, module) is var i and >= 0 ? i : Order.Length;
    static readonly string[] Order = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"];

    static double BaseNorm(CheckpointFiles weights, ModuleFactors m, string baseDir)
    {
        string name = m.Path + ".weight";
        if (!weights.Contains(name)) throw new UserException($"--base {baseDir}: has no tensor '{name}', which the adapter adapts (another model?)");
        var shape = weights.Info(name).Shape;
        if (shape.Length != 2 || shape[0] != m.OutFeatures || shape[1] != m.InFeatures)
            throw new UserException($"--base {baseDir}: '{name}' is [{string.Join(", ", shape)}], the adapter's ΔW is [{m.OutFeatures}, {m.InFeatures}] (another model?)");
        using var w = weights.Read(name, ScalarType.Float32);
        using var n = w.norm();
        return n.item<float>();
    }
}
