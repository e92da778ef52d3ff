using LoraLab.Demo;
using LoraLab.ModelFiles;
using LoraLab.Models;
using LoraLab.Tests.Cli;
using LoraLab.Tokenization;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.ModelFiles;

/// The tokenizer must not produce ids past the model's embedding rows (checked at load, naming both files), and a
/// tokenizer.model that is empty or not SentencePiece says so.
public class TokenizerModelMatchTests
{
    /// The reference SentencePiece model (512 pieces, tools/make_reference_models.py).
    static string ReferenceTokenizerModel => RepoFixtures.Path_("tiny-sentencepiece", "tokenizer.model");

    [Fact]
    public void ATokenizerLargerThanTheEmbeddingIsRefusedNamingBothFiles()
    {
        var dir = TempDir.New();
        foreach (var f in Directory.GetFiles(RepoFixtures.Path_("mqa-tied"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        File.Copy(ReferenceTokenizerModel, Path.Combine(dir, "tokenizer.model"));
        var e = Assert.Throws<UserException>(() => ModelLoader.Load(dir));
        Assert.Equal($"{dir}: tokenizer.model has 512 tokens (ids up to 511) but config.json vocab_size is 300; " +
                     "the ids from vocab_size on have no embedding row (wrong tokenizer for this model?)", e.Message);
    }

    /// Published fine-tunes add tokens (a <pad> at id vocab_size) without growing the embedding: ordinary text
    /// never produces them, so the model loads with a warning, and only text that does produce one is refused.
    [Fact]
    public void AddedTokensPastTheEmbeddingAreAWarningUntilTextUsesThem()
    {
        var dir = TempDir.New();
        foreach (var f in Directory.GetFiles(Path.Combine(DemoAssets.Locate(), DemoAssets.BaseFolder))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer.json")))!;
        json["added_tokens"]!.AsArray().Add(new System.Text.Json.Nodes.JsonObject { ["id"] = 1115, ["content"] = "<extra>", ["special"] = true });
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), json.ToJsonString());
        const string warning = "tokenizer.json has 1 added token past config.json vocab_size 1115 (<extra> = 1115), with no embedding row; text that contains it will be refused";

        var (code, _, err) = CliRunner.Run("generate", "--model", dir, "--prompt", "Hello", "--max-new-tokens", "2", "--threads", "1");
        Assert.True(code == 0, err);
        Assert.Equal($"warning: {dir}: {warning}", err.Trim());

        (code, _, err) = CliRunner.Run("generate", "--model", dir, "--prompt", "Hello <extra>", "--max-new-tokens", "2", "--threads", "1");
        Assert.Equal(2, code);
        Assert.EndsWith($"error: {dir}: the text contains '<extra>' (id 1115 in tokenizer.json), which has no embedding row (config.json vocab_size is 1115)", err.Trim());
    }

    [Fact]
    public void AVocabSizePaddedPastTheTokenizerIsFine()
    {
        var dir = TempDir.New();
        var cfg = new ModelConfig
        {
            ModelType = "llama", VocabSize = 576, HiddenSize = 16, IntermediateSize = 32, NumHiddenLayers = 1,
            NumAttentionHeads = 2, NumKeyValueHeads = 2, HeadDim = 8, MaxPositionEmbeddings = 64,
        };
        using (var m = new CausalLM(cfg, ScalarType.Float32, CPU)) { m.InitializeRandom(3); ModelFolderWriter.Write(dir, m, ScalarType.Float32); }
        File.Copy(ReferenceTokenizerModel, Path.Combine(dir, "tokenizer.model"));
        using var loaded = ModelLoader.Load(dir);
        Assert.Equal(512, loaded.Tokenizer!.VocabSize);
    }

    [Theory]
    [InlineData(new byte[0], "empty file (a SentencePiece model holds at least its pieces)")]
    [InlineData(new byte[] { 0x18, 0x01 }, "not a SentencePiece model (no pieces in it)")]
    public void AnEmptyOrForeignTokenizerModelSaysSo(byte[] bytes, string expected)
    {
        var dir = TempDir.New();
        var path = Path.Combine(dir, "tokenizer.model");
        File.WriteAllBytes(path, bytes);
        Assert.Equal($"{path}: {expected}", Assert.Throws<UserException>(() => TokenizerLoader.Load(dir)).Message);
    }
}
