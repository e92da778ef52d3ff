using LoraLab.Adapters;
using Xunit;

namespace LoraLab.Tests.Guardrails;

/// The base-model fingerprint recorded with an adapter: equal for the same weights (in any stored precision that
/// rounds to the same bf16 values), different for another architecture or other weights.
public class BaseFingerprintTests
{
    static string Mha => RepoFixtures.Path_("mha-3layer");
    static string Mqa => RepoFixtures.Path_("mqa-tied");

    [Fact]
    public void SameFolderGivesTheSameFingerprint()
    {
        var a = BaseFingerprint.Compute(Mha);
        var b = BaseFingerprint.Compute(Mha);
        Assert.True(a.CompareTo(b).Matches);
        Assert.Equal(64, a.WeightsSha256.Length);
        Assert.Contains("model.embed_tokens.weight", a.SampledTensors);
    }

    [Fact]
    public void AnotherArchitectureDiffersAndSaysWhere()
    {
        var c = BaseFingerprint.Compute(Mha).CompareTo(BaseFingerprint.Compute(Mqa));
        Assert.False(c.Matches);
        Assert.False(c.ArchitectureMatches);
        Assert.False(c.ShapesMatch);
        Assert.Contains("architecture differs", c.Describe());
    }

    [Fact]
    public void OneChangedSampledWeightDiffersOnlyInWeights()
    {
        var nudged = ModelCopies.WithNudgedEmbedding(Mha);
        var c = BaseFingerprint.Compute(Mha).CompareTo(BaseFingerprint.Compute(nudged));
        Assert.True(c.ArchitectureMatches);
        Assert.True(c.ShapesMatch);
        Assert.False(c.WeightsMatch);
        Assert.Contains("sampled weights differ", c.Describe());
    }

    [Fact]
    public void Bf16CopyOfTheSameWeightsMatches()
    {
        var bf16 = ModelCopies.AsBf16(Mha);
        Assert.True(BaseFingerprint.Compute(Mha).CompareTo(BaseFingerprint.Compute(bf16)).Matches);
    }

    [Fact]
    public void SidecarIsWrittenAndReadBack()
    {
        var dir = TempDir.New();
        var written = new AdapterProvenance
        {
            Template = "chatml", AddBos = false, BosId = 1, EosId = 2, EndOfTurn = "<|im_end|>", EndOfTurnId = 4, StopIds = [2, 4],
            TrainOnInputs = true, MaxSeqLength = 256, BaseQuantization = "nf4", BaseModel = Mha, BaseFingerprint = BaseFingerprint.Compute(Mha),
        };
        AdapterProvenance.Write(dir, written);
        var read = AdapterProvenance.Read(dir)!;
        Assert.Equal(written with { StopIds = read.StopIds, BaseFingerprint = read.BaseFingerprint }, read);
        Assert.Equal(new[] { 2, 4 }, read.StopIds);
        Assert.True(read.BaseFingerprint!.CompareTo(written.BaseFingerprint!).Matches);
        Assert.Equal(written.BaseFingerprint!.SampledTensors, read.BaseFingerprint.SampledTensors);
    }

    [Fact]
    public void MissingSidecarReadsAsNullAndABadOneIsAUserError()
    {
        var dir = TempDir.New();
        Assert.Null(AdapterProvenance.Read(dir));
        File.WriteAllText(Path.Combine(dir, AdapterProvenance.FileName), "{\"format\":\"loralab-adapter/1\",\"template\":\"vicuna\"}");
        var e = Assert.Throws<UserException>(() => AdapterProvenance.Read(dir));
        Assert.Contains("vicuna", e.Message);
    }
}
