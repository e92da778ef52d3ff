using LoraLab.Adapters;
using LoraLab.ModelFiles;
using LoraLab.Serving;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Serving;

/// A served adapter computes what the same adapter attached alone (as `generate` loads it) computes, bit for bit,
/// on a bf16 base too: otherwise a greedy token can flip where two logits are close.
public class MultiLoraNumericsTests
{
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void OneAdapterThroughTheBankGivesTheAttachedAdaptersLogitsExactly(ScalarType dtype)
    {
        using var _ = no_grad();
        using var ids = tensor(new long[] { 1112, 5, 9, 33, 7, 40, 8, 8, 2, 17 }).unsqueeze(0);
        using var attached = ModelLoader.Load(ServedAdapters.Base, new LoadOptions { Dtype = dtype });
        PeftFormat.Load(ServedAdapters.First, attached.Model);
        using var expected = attached.Model.Forward(ids);

        using var served = ModelLoader.Load(ServedAdapters.Base, new LoadOptions { Dtype = dtype });
        using var bank = new AdapterBank(served.Model);
        int id;
        using (var w = PeftFormat.Read(ServedAdapters.First, served.Model)) id = bank.Add(w);
        bank.Routing.All(id);
        using var single = served.Model.Forward(ids);
        Assert.True(single.eq(expected).all().item<bool>(), $"{dtype}: served logits differ by up to {single.sub(expected).abs().max().to(ScalarType.Float32).item<float>()}");
    }
}
