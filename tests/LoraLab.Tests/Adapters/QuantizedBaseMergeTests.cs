using LoraLab.Adapters;
using LoraLab.Tests.Adapters;
using LoraLab.Tests.Cli;
using Xunit;

namespace LoraLab.Tests.Guardrails;

/// Merging an adapter trained on a quantized base: the base is dequantized first, so the merged model reproduces
/// base(quantized) + adapter (what was trained), and re-quantizing shows its drift.
public class QuantizedBaseMergeTests
{
    static MergeReport Merge(string adapter, string? baseQuantization = null, string? requantize = null) =>
        AdapterMerger.MergeToFolder(new MergeOptions
        {
            BaseDir = LoraTestModels.TinyDir, AdapterDir = adapter, OutDir = Path.Combine(TempDir.New(), "merged"),
            BaseQuantization = baseQuantization, Requantize = requantize,
        });

    [Fact]
    public void MergedModelReproducesTheQuantizedBasePlusAdapterAndRequantizingShowsDrift()
    {
        var r = Merge(LoraTestModels.TinyAdapterDir, "nf4", "nf4");
        Assert.Equal("nf4", r.BaseQuantization);
        Assert.True(r.MaxAbs < 1e-4, $"merged vs base(nf4) + adapter: {r.MaxAbs}");
        Assert.Equal("nf4", r.Requantized);
        Assert.True(r.RequantizedProbes!.Max(p => p.MaxAbs) > 1e-3, "re-quantizing the merged weights must show drift");
        Assert.Equal(new[] { "config.json", "model.safetensors" }, r.Files);
    }

    [Fact]
    public void TheAdaptersRecordSelectsTheQuantizedBaseAndNoneOverridesIt()
    {
        var adapter = TempDir.New();
        foreach (var f in Directory.GetFiles(LoraTestModels.TinyAdapterDir)) File.Copy(f, Path.Combine(adapter, Path.GetFileName(f)));
        AdapterProvenance.Write(adapter, new AdapterProvenance { Template = "plain", BaseQuantization = "nf4" });
        Assert.Equal("nf4", Merge(adapter).BaseQuantization);
        var dense = Merge(adapter, "none");
        Assert.Null(dense.BaseQuantization);
        Assert.Null(dense.RequantizedProbes);
    }
}
