using LoraLab.Evaluation;
using LoraLab.ModelFiles;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Models;

public class GenerationTests
{
    static LoadedModel Tiny() => ModelLoader.Load(RepoFixtures.Path_("mha-3layer"));

    [Fact]
    public void CachedGreedyDecodingEqualsFullRecomputation()
    {
        using var m = Tiny();
        var prompt = new[] { 5, 17, 42, 9 };
        var cached = TextGenerator.Generate(m.Model, prompt, new SamplingOptions { MaxNewTokens = 10 }).Tokens;
        var seq = prompt.ToList();
        using (no_grad())
            for (int i = 0; i < 10; i++)
            {
                using var ids = tensor(seq.Select(x => (long)x).ToArray()).unsqueeze(0);
                using var logits = m.Model.Forward(ids);
                seq.Add((int)logits[0, -1].argmax().item<long>());
            }
        Assert.Equal(seq.Skip(prompt.Length), cached);
    }

    [Fact]
    public void SamplingIsReproducibleWithASeed()
    {
        using var m = Tiny();
        var o = new SamplingOptions { MaxNewTokens = 12, Temperature = 0.9, TopP = 0.9, TopK = 40, Seed = 7 };
        var a = TextGenerator.Generate(m.Model, new[] { 3, 4 }, o).Tokens;
        var b = TextGenerator.Generate(m.Model, new[] { 3, 4 }, o).Tokens;
        Assert.Equal(a, b);
    }

    [Fact]
    public void PackedDocumentsDoNotSeeEachOther()
    {
        using var m = Tiny();
        using var _ = no_grad();
        using var a = tensor(new long[] { 5, 6, 7 }).unsqueeze(0);
        using var b = tensor(new long[] { 8, 9 }).unsqueeze(0);
        using var packed = tensor(new long[] { 5, 6, 7, 8, 9 }).unsqueeze(0);
        using var pos = tensor(new long[] { 0, 1, 2, 0, 1 }).unsqueeze(0);
        using var docs = tensor(new long[] { 0, 0, 0, 1, 1 }).unsqueeze(0);
        using var la = m.Model.Forward(a);
        using var lb = m.Model.Forward(b);
        using var lp = m.Model.Forward(packed, pos, docs);
        Assert.True(lp.narrow(1, 0, 3).allclose(la, 1e-5, 1e-5));
        Assert.True(lp.narrow(1, 3, 2).allclose(lb, 1e-5, 1e-5));
    }
}
