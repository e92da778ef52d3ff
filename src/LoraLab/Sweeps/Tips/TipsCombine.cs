using LoraLab.Adapters.Combining;

namespace LoraLab.Sweeps.Tips;

/// The combining finding's adapters: count-only's and first-only's, combined with weights 1 and 1 by each method
/// into DIR/combined/<name>/.
public static class TipsCombine
{
    public const string Folder = "combined";
    public static readonly IReadOnlyList<CombineMethod> Methods = [CombineMethod.Cat, CombineMethod.Svd, CombineMethod.Linear];

    public static string Name(CombineMethod m) => "combined-" + m.Name();

    public static string Combine(string dir, CombineMethod method, IReadOnlyList<string> adapterDirs)
    {
        var outDir = Path.Combine(dir, Folder, Name(method));
        AdapterCombiner.Combine(new CombineOptions { AdapterDirs = adapterDirs, Weights = [1, 1], Method = method, OutDir = outDir, Overwrite = true });
        return outDir;
    }
}
