using System.Text.Json;
using LoraLab.Data.Demo;
using LoraLab.Tokenization;
using LoraLab.Tokenization.Training;
using Xunit;

namespace LoraLab.Tests.Demo;

public class ByteLevelBpeTrainerTests
{
    static readonly SpecialTokenRoles Roles = new("<s>", "</s>", "<pad>");

    static (BpeVocabulary Vocab, string Dir) TrainSmall(int vocabSize = 400)
    {
        var docs = DemoCorpus.Documents(4, 30_000);
        var vocab = ByteLevelBpeTrainer.Train(docs, vocabSize, ["<s>", "</s>", "<pad>"]);
        var dir = TempDir.New("bpe");
        HfTokenizerWriter.Write(dir, vocab, Roles, 256);
        return (vocab, dir);
    }

    [Fact]
    public void LearnsMergesUpToTheVocabularySize()
    {
        var (vocab, dir) = TrainSmall();
        try
        {
            Assert.Equal(400, vocab.Count);
            Assert.Equal(400 - 256 - 3, vocab.Merges.Count);
            Assert.Equal("Ġ", vocab.Tokens[' ']); // GPT-2's byte alphabet: space is U+0120
            Assert.Equal("!", vocab.Tokens['!']);
            // Each merge's result is the token at 256 + rank, and its halves come earlier.
            for (int i = 0; i < vocab.Merges.Count; i++)
            {
                var (l, r) = vocab.Merges[i];
                Assert.Equal(l + r, vocab.Tokens[256 + i]);
                Assert.True(vocab.IdOf(l) < 256 + i && vocab.IdOf(r) < 256 + i);
            }
            Assert.Contains("Ġthe", vocab.Tokens);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void WritesTheHuggingFaceFormat()
    {
        var (vocab, dir) = TrainSmall();
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer.json")));
            var root = doc.RootElement;
            var model = root.GetProperty("model");
            Assert.Equal("BPE", model.GetProperty("type").GetString());
            Assert.Equal(vocab.Count, model.GetProperty("vocab").EnumerateObject().Count());
            Assert.Equal($"{vocab.Merges[0].Left} {vocab.Merges[0].Right}", model.GetProperty("merges")[0].GetString());
            Assert.Equal("ByteLevel", root.GetProperty("pre_tokenizer").GetProperty("type").GetString());
            Assert.Equal("ByteLevel", root.GetProperty("decoder").GetProperty("type").GetString());
            Assert.Equal(["<s>", "</s>", "<pad>"], root.GetProperty("added_tokens").EnumerateArray().Select(t => t.GetProperty("content").GetString()!));
            using var cfg = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "tokenizer_config.json")));
            Assert.True(cfg.RootElement.GetProperty("add_bos_token").GetBoolean());
            Assert.Equal("</s>", cfg.RootElement.GetProperty("eos_token").GetString());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void LoaderEncodesWithTheLearntMergesAndRoundTrips()
    {
        var (vocab, dir) = TrainSmall();
        try
        {
            var tok = TokenizerLoader.Load(dir);
            Assert.Equal(vocab.Count, tok.VocabSize);
            Assert.Equal(vocab.Count - 3, tok.BosId);
            Assert.Equal(vocab.Count - 2, tok.EosId);
            Assert.Equal(vocab.Count - 1, tok.PadId);
            Assert.True(tok.AddBosByDefault);
            var ids = vocab.Tokens.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i);
            foreach (var text in new[] { "the red fox sees a big apple.", "anna says cat dog and backwards it is dog cat.",
                         "### Instruction:\nCount the words.\n\n### Response: three", "Zebra 123 café ☃!" })
            {
                var expected = ByteLevelBpeTrainer.PreTokenize(text).SelectMany(w => ByteLevelBpeTrainer.EncodeWord(w, vocab.Merges)).Select(t => ids[t]);
                var got = tok.Encode(text);
                Assert.Equal(expected, got);
                Assert.Equal(text, tok.Decode(got));
            }
            Assert.Equal([vocab.Count - 3, .. tok.Encode("cat")], tok.Encode("cat", addBos: true));
            Assert.Equal(tok.EosId, tok.Encode("</s>").Single());
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void TooSmallVocabularyIsAUserError() =>
        Assert.Throws<UserException>(() => ByteLevelBpeTrainer.Train(["abc"], 257, ["<s>", "</s>"]));
}
