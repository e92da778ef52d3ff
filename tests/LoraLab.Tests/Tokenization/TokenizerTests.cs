using System.Text.Json;
using LoraLab.Tokenization;
using Xunit;

namespace LoraLab.Tests;

public sealed class TokenizerTests : IDisposable
{
    readonly List<string> _tempDirs = [];

    public void Dispose()
    {
        foreach (var d in _tempDirs) if (Directory.Exists(d)) Directory.Delete(d, true);
    }

    string NewTempDir()
    {
        var dir = TempDir.New("tok");
        _tempDirs.Add(dir);
        return dir;
    }

    public static TheoryData<int> GoldenCaseIndexes()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < 6; i++) data.Add(i);
        return data;
    }

    static (string Text, int[] Ids, int[] IdsWithBos) GoldenCase(int index)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(SharedFixtures.Path_("fixtures", "llama2-tokenizer", "golden.json")));
        var c = doc.RootElement.GetProperty("cases")[index];
        return (c.GetProperty("text").GetString()!,
            c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            c.GetProperty("ids_with_bos").EnumerateArray().Select(e => e.GetInt32()).ToArray());
    }

    static string Llama2Model => SharedFixtures.Path_("fixtures", "llama2-tokenizer", "tokenizer.model");

    /// The project's own SentencePiece model (BPE, byte fallback, split digits, as Llama 2's was trained), with the ids
    /// the SentencePiece library gives: tools/make_reference_models.py writes both.
    static string ReferenceModel => RepoFixtures.Path_("tiny-sentencepiece", "tokenizer.model");

    static JsonElement ReferenceGolden() =>
        JsonDocument.Parse(File.ReadAllText(RepoFixtures.Path_("tiny-sentencepiece", "golden.json"))).RootElement;

    public static TheoryData<int> ReferenceCaseIndexes()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < ReferenceGolden().GetProperty("cases").GetArrayLength(); i++) data.Add(i);
        return data;
    }

    static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    [Theory]
    [MemberData(nameof(ReferenceCaseIndexes))]
    public void Reference_sentencepiece_model_matches_golden_ids(int index)
    {
        var c = ReferenceGolden().GetProperty("cases")[index];
        var text = c.GetProperty("text").GetString()!;
        var tok = SentencePieceBpeTokenizer.Load(ReferenceModel);
        Assert.Equal(Ints(c.GetProperty("ids")), tok.Encode(text));
        Assert.Equal(Ints(c.GetProperty("ids_with_bos")), tok.Encode(text, addBos: true));
        Assert.Equal(text, tok.Decode(Ints(c.GetProperty("ids"))));
    }

    [Fact]
    public void Reference_sentencepiece_model_has_the_golden_settings_and_round_trips_the_reference_data()
    {
        var golden = ReferenceGolden();
        var tok = SentencePieceBpeTokenizer.Load(ReferenceModel);
        Assert.Equal((golden.GetProperty("vocab_size").GetInt32(), golden.GetProperty("bos_id").GetInt32(), golden.GetProperty("eos_id").GetInt32()),
            (tok.VocabSize, tok.BosId!.Value, tok.EosId!.Value));
        Assert.Equal(48 * 3, RoundTripsEveryField(tok, RepoFixtures.Path_("instructions", "data.json")));
    }

    [SharedFact(SharedFixtures.Llama2Tokenizer)]
    public void Llama2_golden_has_the_cases_the_theory_covers()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(SharedFixtures.Path_("fixtures", "llama2-tokenizer", "golden.json")));
        Assert.Equal(6, doc.RootElement.GetProperty("cases").GetArrayLength());
    }

    [SharedTheory(SharedFixtures.Llama2Tokenizer)]
    [MemberData(nameof(GoldenCaseIndexes))]
    public void Llama2_sentencepiece_model_matches_golden_ids(int index)
    {
        var (text, ids, idsWithBos) = GoldenCase(index);
        var tok = SentencePieceBpeTokenizer.Load(Llama2Model);
        Assert.Equal(ids, tok.Encode(text));
        Assert.Equal(idsWithBos, tok.Encode(text, addBos: true));
        Assert.Equal(text, tok.Decode(ids));
        Assert.Equal(text, tok.Decode(idsWithBos));
    }

    [SharedFact(SharedFixtures.Llama2Tokenizer)]
    public void Llama2_sentencepiece_model_matches_special_tokens_and_settings()
    {
        var tok = SentencePieceBpeTokenizer.Load(Llama2Model);
        Assert.Equal(32000, tok.VocabSize);
        Assert.Equal((1, 2, (int?)null), (tok.BosId!.Value, tok.EosId!.Value, tok.PadId));
        Assert.True(tok.AddBosByDefault);
        Assert.False(tok.AddEosByDefault);
        Assert.Equal(1, tok.SpecialTokens["<s>"]);
        // Special-token strings in text map to their ids; the text after one gets its own dummy prefix (HF legacy).
        Assert.Equal([15043, 2, 15043], tok.Encode("Hello</s>Hello"));
        Assert.Equal([1, 15043, 2], tok.Encode("Hello", addBos: true, addEos: true));
        Assert.Equal("Hello", tok.Decode([1, 15043, 2]));
        Assert.Equal("<s> Hello</s>", tok.Decode([1, 15043, 2], skipSpecialTokens: false));
        Assert.Equal("\n", tok.TokenText(13));
        Assert.Equal(" Hello", tok.TokenText(15043));
    }

    [SharedFact(SharedFixtures.Llama2Tokenizer)]
    public void Llama2_byte_fallback_tokens_stream_to_exact_text()
    {
        var tok = SentencePieceBpeTokenizer.Load(Llama2Model);
        var ids = tok.Encode("ok 🙂");
        Assert.Equal([3431, 29871, 243, 162, 156, 133], ids);
        var decoder = System.Text.Encoding.UTF8.GetDecoder();
        var streamed = new System.Text.StringBuilder();
        foreach (var id in ids)
        {
            var bytes = tok.TokenBytes(id);
            var chars = new char[8];
            streamed.Append(chars, 0, decoder.GetChars(bytes, 0, bytes.Length, chars, 0));
        }
        Assert.Equal(" ok 🙂", streamed.ToString());
    }

    [SharedFact(SharedFixtures.Llama2Tokenizer + " and " + SharedFixtures.AlpacaSeedTasks)]
    public void Llama2_round_trips_the_alpaca_seed_tasks()
    {
        var tok = SentencePieceBpeTokenizer.Load(Llama2Model);
        Assert.True(RoundTripsEveryField(tok, SharedFixtures.Path_("fixtures", "alpaca-seed-tasks", "seed_tasks_alpaca.json")) >= 175 * 3);
    }

    /// Every instruction, input and output of an Alpaca JSON file encodes to ids in the vocabulary and decodes back
    /// unchanged; returns how many texts were checked.
    static int RoundTripsEveryField(SentencePieceBpeTokenizer tok, string alpacaJson)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(alpacaJson));
        int checkedTexts = 0;
        foreach (var record in doc.RootElement.EnumerateArray())
            foreach (var field in new[] { "instruction", "input", "output" })
            {
                var text = record.GetProperty(field).GetString()!;
                var ids = tok.Encode(text);
                Assert.All(ids, id => Assert.InRange(id, 0, tok.VocabSize - 1));
                Assert.Equal(text, tok.Decode(ids));
                checkedTexts++;
            }
        return checkedTexts;
    }

    /// Expected ids and decodings from the Hugging Face tokenizers library (Rust, through its .NET binding)
    /// on the same fixture files, with its default add_special_tokens; decoding skips special tokens.
    public static TheoryData<string, string, int[], string> HfReferenceCases() => new()
    {
        { "gpt2", "Hello world", [262, 267], "Hello world" },
        { "gpt2", "the cafe caf\u00e9", [116, 257, 272, 101, 273], "the cafe caf\u00e9" },
        { "gpt2", "aaa aaaa aaaaa", [268, 97, 32, 282, 32, 282, 97], "aaa aaaa aaaaa" },
        { "gpt2", "Hi<|endoftext|>there  \n\n\ud83d\ude42", [72, 105, 283, 116, 257, 114, 101, 274, 10, 10, 276, 153, 130], "Hithere  \n\n\ud83d\ude42" },
        { "gpt2", "It's 12345", [73, 116, 279, 32, 278, 52, 53], "It's 12345" },
        { "gpt2", "<|im_start|>user\nhi there<|im_end|>\n", [284, 117, 115, 101, 114, 10, 104, 105, 258, 114, 101, 285, 10], "user\nhi there\n" },
        { "gpt2", "na\u00efve \u65e5\u672c [NEW]x", [110, 97, 195, 175, 118, 101, 32, 230, 151, 165, 230, 156, 172, 32, 286, 120], "na\u00efve \u65e5\u672c [NEW]x" },
        { "gpt2", "   spaces  end  ", [274, 32, 115, 112, 97, 99, 101, 115, 32, 32, 101, 110, 100, 274], "   spaces  end  " },
        { "gpt2", "Hello", [262], "Hello" },
        { "llama3", "Hello world", [285, 262, 267], "Hello world" },
        { "llama3", "12345 678", [285, 278, 52, 53, 32, 54, 55, 56], "12345 678" },
        { "llama3", " xyz xyzw", [285, 283, 32, 120, 121, 122, 119], " xyz xyzw" },
        { "llama3", "HELLO'S it'S", [285, 72, 69, 76, 76, 79, 39, 83, 32, 105, 116, 39, 83], "HELLO'S it'S" },
        { "llama3", "tabs\tand\r\nlines\n\n  x", [285, 116, 97, 98, 115, 9, 97, 110, 100, 13, 10, 108, 105, 110, 101, 115, 275, 32, 32, 120], "tabs\tand\r\nlines\n\n  x" },
        { "llama3", "<|begin_of_text|>Hello<|end_of_text|>", [285, 285, 262, 284], "Hello" },
        { "llama3", "\ud83d\ude42\ud83d\ude42 \u00e9", [285, 276, 153, 130, 276, 153, 130, 32, 269], "\ud83d\ude42\ud83d\ude42 \u00e9" },
        { "llama2", "Hello world", [1, 259, 277, 265, 285], "Hello world" },
        { "llama2", "### the", [1, 259, 286, 269, 274], "### the" },
        { "llama2", "  Hello  world.", [1, 287, 259, 277, 265, 259, 285, 271], "  Hello  world." },
        { "llama2", "Hi\n\ud83d\ude42", [1, 278, 108, 13, 243, 162, 156, 133], "Hi\n\ud83d\ude42" },
        { "llama2", "a<s>b</s>", [1, 259, 270, 1, 259, 101, 2], "a b" },
        { "llama2", "aaa", [1, 259, 288, 270], "aaa" },
        { "llama2", "xyz", [1, 259, 123, 124, 125], "xyz" },
        { "llama2", "", [1], "" },
        { "llama2-space-run", "  Hello  world.", [1, 287, 259, 277, 265, 259, 285, 271], "  Hello  world." },
        { "llama2-space-run", "a  b", [1, 259, 270, 287, 101], "a  b" },
        { "llama2-space-run", "Hello   ", [1, 259, 277, 265, 287, 259], "Hello   " },
        { "llama2-space-run", "  ", [1, 287, 259], "  " },
    };

    static readonly Dictionary<string, Func<string>> HfFixtures = new()
    {
        ["gpt2"] = TokenizerJsonFixtures.Gpt2Style,
        ["llama3"] = TokenizerJsonFixtures.Llama3Style,
        ["llama2"] = TokenizerJsonFixtures.Llama2Style,
        ["llama2-space-run"] = TokenizerJsonFixtures.Llama2StyleWithAddedSpaceRun,
    };

    string WriteTemp(string fileName, string content)
    {
        var dir = NewTempDir();
        var path = Path.Combine(dir, fileName);
        File.WriteAllText(path, content);
        return path;
    }

    [Theory]
    [MemberData(nameof(HfReferenceCases))]
    public void Tokenizer_json_matches_hugging_face(string fixture, string text, int[] expectedIds, string expectedDecoded)
    {
        var tok = HfJsonTokenizer.Load(WriteTemp("tokenizer.json", HfFixtures[fixture]()));
        Assert.Equal(expectedIds, tok.Encode(text, addBos: tok.AddBosByDefault));
        Assert.Equal(expectedDecoded, tok.Decode(expectedIds));
    }

    [Fact]
    public void Tokenizer_json_styles_are_detected()
    {
        var gpt2 = HfJsonTokenizer.Load(WriteTemp("tokenizer.json", TokenizerJsonFixtures.Gpt2Style()));
        Assert.True(gpt2.IsByteLevel);
        Assert.False(gpt2.AddBosByDefault);
        Assert.Null(gpt2.BosId);
        Assert.Equal(TokenizerJsonFixtures.Gpt2NewTag + 1, gpt2.VocabSize);
        Assert.Equal(TokenizerJsonFixtures.Gpt2ImEnd, gpt2.SpecialTokens["<|im_end|>"]);
        Assert.False(gpt2.SpecialTokens.ContainsKey("[NEW]")); // added but not special: kept when decoding
        Assert.Equal("a<|im_end|>", gpt2.Decode(gpt2.Encode("a<|im_end|>"), skipSpecialTokens: false));
        Assert.Equal(" world", gpt2.TokenText(267));

        var llama3 = HfJsonTokenizer.Load(WriteTemp("tokenizer.json", TokenizerJsonFixtures.Llama3Style()));
        Assert.True(llama3.AddBosByDefault); // from its TemplateProcessing post-processor
        Assert.Equal(TokenizerJsonFixtures.Llama3BeginOfText, llama3.BosId);

        var llama2 = HfJsonTokenizer.Load(WriteTemp("tokenizer.json", TokenizerJsonFixtures.Llama2Style()));
        Assert.False(llama2.IsByteLevel);
        Assert.True(llama2.AddBosByDefault);
        Assert.Equal(1, llama2.BosId);
        Assert.Equal("\n", llama2.TokenText(13));

        var spaceRun = HfJsonTokenizer.Load(WriteTemp("tokenizer.json", TokenizerJsonFixtures.Llama2StyleWithAddedSpaceRun()));
        Assert.Equal("  ", spaceRun.TokenText(287)); // an added token streams as the decoder renders it
    }

    [Fact]
    public void Loader_prefers_tokenizer_json_and_applies_tokenizer_config()
    {
        var dir = Path.GetDirectoryName(WriteTemp("tokenizer.json", TokenizerJsonFixtures.Gpt2Style()))!;
        File.WriteAllText(Path.Combine(dir, "tokenizer.model"), "not a model: tokenizer.json must win");
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """
            { "add_bos_token": true, "add_eos_token": true, "bos_token": null,
              "eos_token": {"content": "<|im_end|>", "special": true}, "pad_token": "<|endoftext|>",
              "chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}" }
            """);
        File.WriteAllText(Path.Combine(dir, "config.json"), """{ "bos_token_id": [284, 1], "eos_token_id": 283 }""");
        var tok = TokenizerLoader.Load(dir);
        Assert.IsType<HfJsonTokenizer>(tok);
        Assert.Equal(TokenizerJsonFixtures.Gpt2ImStart, tok.BosId);   // no bos_token string: config.json, first id
        Assert.Equal(TokenizerJsonFixtures.Gpt2ImEnd, tok.EosId);     // tokenizer_config's token wins over config.json
        Assert.Equal(TokenizerJsonFixtures.Gpt2EndOfText, tok.PadId);
        Assert.True(tok.AddBosByDefault);
        Assert.True(tok.AddEosByDefault);
        Assert.Equal("{% for m in messages %}{{ m.content }}{% endfor %}", tok.ChatTemplate);
        Assert.Equal([TokenizerJsonFixtures.Gpt2ImStart, 262, TokenizerJsonFixtures.Gpt2ImEnd], tok.Encode("Hello", true, true));
    }

    [Fact]
    public void Loader_opens_a_sentencepiece_folder_with_its_config()
    {
        var dir = NewTempDir();
        File.Copy(ReferenceModel, Path.Combine(dir, "tokenizer.model"));
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), """
            { "add_bos_token": false, "eos_token": "</s>",
              "added_tokens_decoder": { "512": {"content": "<|im_end|>", "special": true, "lstrip": false, "rstrip": false} },
              "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}] }
            """);
        File.WriteAllText(Path.Combine(dir, "config.json"), """{ "eos_token_id": [2, 512], "pad_token_id": 0 }""");
        var tok = TokenizerLoader.Load(dir);
        Assert.IsType<SentencePieceBpeTokenizer>(tok);
        Assert.False(tok.AddBosByDefault);
        Assert.Equal(2, tok.EosId);
        Assert.Equal(0, tok.PadId);
        Assert.Equal("D", tok.ChatTemplate);
        Assert.Equal(513, tok.VocabSize);
        var hello = Ints(ReferenceGolden().GetProperty("cases")[0].GetProperty("ids"));   // "Hello", with its dummy prefix
        Assert.Equal("Hello", ReferenceGolden().GetProperty("cases")[0].GetProperty("text").GetString());
        // the text after a special token gets its own dummy prefix (HF legacy), so "Hello" encodes the same both times
        Assert.Equal([.. hello, 512, .. hello], tok.Encode("Hello<|im_end|>Hello"));
        Assert.Equal("Hello<|im_end|> Hello", tok.Decode([.. hello, 512, .. hello], skipSpecialTokens: false));
    }

    [Fact]
    public void Loader_names_the_folder_and_the_expected_files()
    {
        var missing = Path.Combine(NewTempDir(), "no-such-model");
        var e1 = Assert.Throws<UserException>(() => TokenizerLoader.Load(missing));
        Assert.Contains(missing, e1.Message);

        var empty = NewTempDir();
        var e2 = Assert.Throws<UserException>(() => TokenizerLoader.Load(empty));
        Assert.Contains(empty, e2.Message);
        Assert.Contains("tokenizer.json", e2.Message);
        Assert.Contains("tokenizer.model", e2.Message);
    }

    [Fact]
    public void Bad_tokenizer_files_are_user_errors_naming_the_file()
    {
        var notJson = WriteTemp("tokenizer.json", "{ not json");
        Assert.Contains(notJson, Assert.Throws<UserException>(() => HfJsonTokenizer.Load(notJson)).Message);

        var unsupported = WriteTemp("tokenizer.json", TokenizerJsonFixtures.Gpt2Style().Replace("\"type\":\"ByteLevel\",\"add_prefix_space\":false", "\"type\":\"BertPreTokenizer\",\"add_prefix_space\":false"));
        var e = Assert.Throws<UserException>(() => HfJsonTokenizer.Load(unsupported));
        Assert.Contains("pre_tokenizer type 'BertPreTokenizer'", e.Message);

        var notProto = WriteTemp("tokenizer.model", "this is not a protobuf");
        Assert.Contains(notProto, Assert.Throws<UserException>(() => SentencePieceBpeTokenizer.Load(notProto)).Message);
    }
}
