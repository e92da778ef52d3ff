using System.Text.RegularExpressions;
using LoraLab.ModelFiles;
using static TorchSharp.torch;

namespace LoraLab.Adapters.Analysis;

/// `loralab analyze MODEL --base BASE`: the spectrum of each projection's accumulated update ΔW = W_model − W_base,
/// from the dense difference (there are no factors): a ReLoRA run's merged model/ (the sum of its restarts' low-rank
/// updates), or a full fine-tune's. Modules whose weight did not change are left out.
///
/// ModuleSpectrum.R is ΔW's numerical rank: its singular values above ε·‖W_model‖_F, ε the model file's precision
/// (2⁻²³ for fp32). Rounding each element of W to that precision once moves it by at most ε/2 of its size, so noise
/// from rounding the merges stays below this while any update the training made stands far above it.
public static class WeightUpdateAnalyzer
{
    static readonly Regex Projection = new(@"(^|\.)(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj|lm_head)\.weight$");
    static readonly Regex LayerIndex = new(@"(?:^|\.)layers\.(\d+)\.");

    public static IReadOnlyList<ModuleSpectrum> Analyze(string modelDir, string baseDir)
    {
        using var model = CheckpointFiles.Open(modelDir);
        using var based = CheckpointFiles.Open(baseDir);
        var result = new List<ModuleSpectrum>();
        foreach (var name in model.Names.Where(n => Projection.IsMatch(n)))
        {
            if (!based.Contains(name)) throw new UserException($"--base {baseDir}: has no tensor '{name}', which {modelDir} has (another model?)");
            var (shape, baseShape) = (model.Info(name).Shape, based.Info(name).Shape);
            if (!shape.SequenceEqual(baseShape))
                throw new UserException($"--base {baseDir}: '{name}' is [{string.Join(", ", baseShape)}], in {modelDir} it is [{string.Join(", ", shape)}] (another model?)");
            using var scope = NewDisposeScope();
            var w = model.Read(name, ScalarType.Float64);
            var b = based.Read(name, ScalarType.Float64);
            var delta = w.sub(b);
            if (!delta.ne(0).any().item<bool>()) continue;
            var s = linalg.svdvals(delta).data<double>().ToArray();
            double tolerance = Precision(model.Info(name).Dtype) * w.norm().item<double>();
            double norm = Math.Sqrt(s.Sum(x => x * x));
            string path = name[..^".weight".Length];
            int layer = LayerIndex.Match(path) is { Success: true } m ? int.Parse(m.Groups[1].Value) : -1;
            result.Add(new ModuleSpectrum(path, layer, path.Split('.')[^1], s.Count(x => x > tolerance), s,
                EffectiveRank.AtEnergy(s, 0.90), EffectiveRank.AtEnergy(s, 0.99), norm, norm / b.norm().item<double>()));
        }
        return result.OrderBy(m => m.Layer < 0 ? int.MaxValue : m.Layer).ThenBy(m => AdapterAnalyzer.ModuleOrder(m.Module)).ToList();
    }

    /// The spacing of numbers near 1 in a safetensors dtype (the model file's rounding of each weight, relative).
    public static double Precision(string safetensorsDtype) => safetensorsDtype switch
    {
        "F64" => Math.Pow(2, -52),
        "F32" => Math.Pow(2, -23),
        "F16" => Math.Pow(2, -10),
        "BF16" => Math.Pow(2, -7),
        _ => throw new UserException($"cannot analyze weights stored as {safetensorsDtype}"),
    };
}
