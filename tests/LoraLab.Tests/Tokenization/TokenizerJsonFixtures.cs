using System.Text.Json.Nodes;

namespace LoraLab.Tests;

/// Small hand-made Hugging Face tokenizer.json files for the tokenizer tests. The vocabularies are tiny but
/// exercise what matters: merge order and ties, byte-level spelling of non-ASCII bytes, added tokens inside
/// text, ignore_merges, byte fallback and the SentencePiece-style dummy prefix.
public static class TokenizerJsonFixtures
{
    /// GPT-2's bytes→characters table, written out independently of the code under test.
    public static string ByteChar(int b)
    {
        int next = 256;
        for (int x = 0; x < 256; x++)
        {
            bool printable = (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
            char c = printable ? (char)x : (char)next++;
            if (x == b) return c.ToString();
        }
        throw new ArgumentOutOfRangeException(nameof(b));
    }

    /// Byte-level merges, in rank order ("Ġ" is the space byte, "Ċ" the newline, "Ã ©" the two bytes of é).
    public static readonly string[] ByteLevelMerges =
    [
        "Ġ t", "h e", "Ġt he", "l l", "e ll", "H ell", "Hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld",
        "a a", "Ã ©", "Ġ c", "Ġc a", "Ġca f", "Ġcaf Ã©", "Ġ Ġ", "Ċ Ċ", "ð Ł", "1 2", "12 3", "' s", "Ġ a", "Ġa aa",
        "aa aa",
    ];

    // Added tokens take the ids right after the vocabulary, as in real files (tokenizers renumbers them otherwise).
    public const int Gpt2EndOfText = 283, Gpt2ImStart = 284, Gpt2ImEnd = 285, Gpt2NewTag = 286;
    public const int Llama3EndOfText = 284, Llama3BeginOfText = 285;

    static JsonObject ByteLevelVocab(int expectedSize, params string[] extra)
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteChar(b)] = b;
        int id = 256;
        foreach (var m in ByteLevelMerges)
        {
            var merged = m.Replace(" ", "");
            if (!vocab.ContainsKey(merged)) vocab[merged] = id++;
        }
        foreach (var e in extra) vocab[e] = id++;
        if (id != expectedSize) throw new InvalidOperationException($"fixture vocabulary has {id} tokens, expected {expectedSize}");
        return vocab;
    }

    static JsonObject Added(int id, string content, bool special) => new()
    {
        ["id"] = id, ["content"] = content, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
        ["normalized"] = false, ["special"] = special,
    };

    /// GPT-2 style: ByteLevel pre-tokenizer with its built-in regex, no BOS.
    public static string Gpt2Style() => new JsonObject
    {
        ["version"] = "1.0",
        ["added_tokens"] = new JsonArray(Added(Gpt2EndOfText, "<|endoftext|>", true), Added(Gpt2ImStart, "<|im_start|>", true),
            Added(Gpt2ImEnd, "<|im_end|>", true), Added(Gpt2NewTag, "[NEW]", false)),
        ["normalizer"] = null,
        ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
        ["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
        ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
        ["model"] = new JsonObject
        {
            ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = "", ["end_of_word_suffix"] = "",
            ["fuse_unk"] = false, ["byte_fallback"] = false,
            ["vocab"] = ByteLevelVocab(Gpt2EndOfText),
            ["merges"] = new JsonArray([.. ByteLevelMerges.Select(m => (JsonNode)JsonValue.Create(m))]),
        },
    }.ToJsonString();

    public const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// Llama 3 style: Split on Llama 3's regex, then ByteLevel without regex; ignore_merges; merges as pairs;
    /// BOS added by a TemplateProcessing post-processor. "Ġxyz" is in the vocabulary with no merge leading to it.
    public static string Llama3Style() => new JsonObject
    {
        ["version"] = "1.0",
        ["added_tokens"] = new JsonArray(Added(Llama3EndOfText, "<|end_of_text|>", true), Added(Llama3BeginOfText, "<|begin_of_text|>", true)),
        ["normalizer"] = null,
        ["pre_tokenizer"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = Llama3Pattern }, ["behavior"] = "Isolated", ["invert"] = false },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
        },
        ["post_processor"] = new JsonObject
        {
            ["type"] = "Sequence",
            ["processors"] = new JsonArray(
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
                new JsonObject
                {
                    ["type"] = "TemplateProcessing",
                    ["single"] = new JsonArray(
                        new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["type_id"] = 0 } },
                        new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                    ["pair"] = new JsonArray(),
                    ["special_tokens"] = new JsonObject
                    {
                        ["<|begin_of_text|>"] = new JsonObject { ["id"] = "<|begin_of_text|>", ["ids"] = new JsonArray(Llama3BeginOfText), ["tokens"] = new JsonArray("<|begin_of_text|>") },
                    },
                }),
        },
        ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
        ["model"] = new JsonObject
        {
            ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
            ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = true,
            ["vocab"] = ByteLevelVocab(Llama3EndOfText, "Ġxyz"),
            ["merges"] = new JsonArray([.. ByteLevelMerges.Select(m => (JsonNode)new JsonArray([.. m.Split(' ').Select(p => (JsonNode)JsonValue.Create(p))]))]),
        },
    }.ToJsonString();

    /// SentencePiece-style merges ("▁" is the escaped space). "# #" is the only way to "##", so "###" tests ties.
    public static readonly string[] SentencePieceMerges =
    [
        "▁ t", "h e", "▁t he", "l l", "e ll", "H ell", "▁ H", "▁H ell", "▁Hell o", "▁ w", "o r", "▁w or", "l d", "▁wor ld",
        "# #", "▁ ▁", "a a",
    ];

    /// Llama 2 style tokenizer.json: Prepend("▁") + Replace(" "→"▁") normalizer, no pre-tokenizer, byte fallback,
    /// BOS through TemplateProcessing, and the Replace/ByteFallback/Fuse/Strip decoder.
    public static string Llama2Style() => Llama2StyleNode().ToJsonString();

    /// Llama 2 style with "▁▁" also listed as a non-special added token under its vocabulary id, as Gemma's file lists
    /// its space runs: the decoder's Replace must turn it back into spaces.
    public static string Llama2StyleWithAddedSpaceRun()
    {
        var root = Llama2StyleNode();
        var id = (int)root["model"]!["vocab"]!["▁▁"]!;
        root["added_tokens"]!.AsArray().Add(Added(id, "▁▁", false));
        return root.ToJsonString();
    }

    static JsonObject Llama2StyleNode()
    {
        var vocab = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["</s>"] = 2 };
        for (int b = 0; b < 256; b++) vocab[$"<0x{b:X2}>"] = 3 + b;
        int id = 259;
        foreach (var c in "▁thelHowrd#a.") vocab[c.ToString()] = id++;
        foreach (var m in SentencePieceMerges)
        {
            var merged = m.Replace(" ", "");
            if (!vocab.ContainsKey(merged)) vocab[merged] = id++;
        }
        return new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = new JsonArray(Added(0, "<unk>", true), Added(1, "<s>", true), Added(2, "</s>", true)),
            ["normalizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["normalizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Prepend", ["prepend"] = "▁" },
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = " " }, ["content"] = "▁" }),
            },
            ["pre_tokenizer"] = null,
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(
                    new JsonObject { ["SpecialToken"] = new JsonObject { ["id"] = "<s>", ["type_id"] = 0 } },
                    new JsonObject { ["Sequence"] = new JsonObject { ["id"] = "A", ["type_id"] = 0 } }),
                ["pair"] = new JsonArray(),
                ["special_tokens"] = new JsonObject
                {
                    ["<s>"] = new JsonObject { ["id"] = "<s>", ["ids"] = new JsonArray(1), ["tokens"] = new JsonArray("<s>") },
                },
            },
            ["decoder"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["decoders"] = new JsonArray(
                    new JsonObject { ["type"] = "Replace", ["pattern"] = new JsonObject { ["String"] = "▁" }, ["content"] = " " },
                    new JsonObject { ["type"] = "ByteFallback" },
                    new JsonObject { ["type"] = "Fuse" },
                    new JsonObject { ["type"] = "Strip", ["content"] = " ", ["start"] = 1, ["stop"] = 0 }),
            },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = "<unk>", ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = true, ["byte_fallback"] = true,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray([.. SentencePieceMerges.Select(m => (JsonNode)JsonValue.Create(m))]),
            },
        };
    }
}
