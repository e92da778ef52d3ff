using System.Text.RegularExpressions;
using LoraLab.ModelFiles;
using static TorchSharp.torch;

namespace LoraLab.Adapters.Analysis;

/// One adapted module of a saved adapter: ΔW = Scaling · B (out, r) · A (r, in), the factors in float64.
public sealed record ModuleFactors(string Path, int Layer, string Module, Tensor A, Tensor B, double Scaling)
{
    public int R => (int)A.shape[0];
    public long InFeatures => A.shape[1];
    public long OutFeatures => B.shape[0];
}

/// A PEFT adapter folder read without a model: its config, training record and every module's factors, in file
/// order of module paths. Combine and analyze work on these directly, so neither needs the base's weights.
public sealed class AdapterFactors : IDisposable
{
    public required string Dir { get; init; }
    public required LoraConfig Config { get; init; }
    public AdapterProvenance? Provenance { get; init; }
    public required IReadOnlyList<ModuleFactors> Modules { get; init; }

    static readonly Regex LayerIndex = new(@"(?:^|\.)layers\.(\d+)\.");

    public static AdapterFactors Read(string dir)
    {
        Runtime.TorchRuntime.EnsureLoaded();
        var cfg = PeftFormat.ReadConfig(dir);
        string weightsPath = Path.Combine(dir, PeftFormat.WeightsFile);
        if (!File.Exists(weightsPath)) throw new UserException($"{dir}: {PeftFormat.WeightsFile} not found");
        using var file = SafeTensorsFile.Open(weightsPath);
        var keys = PeftFormat.MapKeys(file, weightsPath);
        var modules = new List<ModuleFactors>();
        try
        {
            foreach (var path in keys.Values.Select(k => k.Path).Distinct().Order(StringComparer.Ordinal))
            {
                string Key(string part) => keys.FirstOrDefault(k => k.Value == (path, part)).Key
                    ?? throw new UserException($"{weightsPath}: module '{path}' has no {part} weight");
                string aKey = Key("lora_A"), bKey = Key("lora_B");
                var aShape = file.Info(aKey).Shape;
                var bShape = file.Info(bKey).Shape;
                if (aShape.Length != 2 || bShape.Length != 2 || aShape[0] != bShape[1])
                    throw new UserException($"{weightsPath}: module '{path}' has lora_A [{string.Join(", ", aShape)}] and lora_B [{string.Join(", ", bShape)}], which do not multiply");
                int layer = LayerIndex.Match(path) is { Success: true } m ? int.Parse(m.Groups[1].Value) : -1;
                int r = (int)aShape[0];
                if (cfg.RankFor(path, layer) != r)
                    throw new UserException($"{weightsPath}: module '{path}' has rank {r}, but {PeftFormat.ConfigFile} gives it r = {cfg.RankFor(path, layer)}");
                var a = ReadChecked(file, aKey, weightsPath);
                var b = ReadChecked(file, bKey, weightsPath);
                modules.Add(new ModuleFactors(path, layer, path.Split('.')[^1], a, b, cfg.ScalingFor(r, cfg.AlphaFor(path, layer))));
            }
        }
        catch
        {
            foreach (var f in modules) { f.A.Dispose(); f.B.Dispose(); }
            throw;
        }
        return new AdapterFactors { Dir = dir, Config = cfg, Provenance = AdapterProvenance.Read(dir), Modules = modules };
    }

    static Tensor ReadChecked(SafeTensorsFile file, string key, string source)
    {
        using var t = file.Read(key, ScalarType.Float32);
        NonFinite.Check(t, source, key);
        return t.to(ScalarType.Float64);
    }

    public void Dispose()
    {
        foreach (var f in Modules) { f.A.Dispose(); f.B.Dispose(); }
    }
}
