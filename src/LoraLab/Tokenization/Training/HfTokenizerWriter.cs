using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Tokenization.Training;

/// The special tokens of a trained tokenizer, by role. Each must be one of the vocabulary's specials.
public sealed record SpecialTokenRoles(string Bos, string Eos, string Pad, bool AddBos = true);

/// Saves a <see cref="BpeVocabulary"/> as Hugging Face files: `tokenizer.json` in the tokenizers library's
/// serialisation (BPE model, ByteLevel pre-tokenizer and decoder, a TemplateProcessing post-processor that
/// adds BOS) and `tokenizer_config.json` for transformers' `PreTrainedTokenizerFast`.
public static class HfTokenizerWriter
{
    public static void Write(string dir, BpeVocabulary vocab, SpecialTokenRoles roles, int modelMaxLength)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < vocab.Count; i++)
            if (!ids.TryAdd(vocab.Tokens[i], i)) throw new ArgumentException($"token '{vocab.Tokens[i]}' appears twice in the vocabulary");
        foreach (var role in new[] { roles.Bos, roles.Eos, roles.Pad })
            if (!vocab.Specials.Contains(role)) throw new ArgumentException($"'{role}' is not one of the vocabulary's special tokens");

        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), TokenizerJson(vocab, ids, roles).ToJsonString(Indented) + "\n");
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), TokenizerConfig(vocab, ids, roles, modelMaxLength).ToJsonString(Indented) + "\n");
    }

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    static JsonObject TokenizerJson(BpeVocabulary vocab, Dictionary<string, int> ids, SpecialTokenRoles roles)
    {
        var vocabJson = new JsonObject();
        for (int i = 0; i < vocab.Count; i++) vocabJson[vocab.Tokens[i]] = i;
        // "a b" strings: byte-level tokens never contain a space (it is spelled 'Ġ'), and every tokenizers version reads them.
        var merges = new JsonArray(vocab.Merges.Select(m => (JsonNode)JsonValue.Create($"{m.Left} {m.Right}")).ToArray());

        JsonObject ByteLevel(bool addPrefixSpace, bool trimOffsets) => new()
        {
            ["type"] = "ByteLevel", ["add_prefix_space"] = addPrefixSpace, ["trim_offsets"] = trimOffsets, ["use_regex"] = true,
        };

        JsonNode? postProcessor = roles.AddBos
            ? new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(Special(roles.Bos, 0), Sequence("A", 0)),
                ["pair"] = new JsonArray(Special(roles.Bos, 0), Sequence("A", 0), Special(roles.Bos, 1), Sequence("B", 1)),
                ["special_tokens"] = new JsonObject
                {
                    [roles.Bos] = new JsonObject { ["id"] = roles.Bos, ["ids"] = new JsonArray(ids[roles.Bos]), ["tokens"] = new JsonArray(roles.Bos) },
                },
            }
            : ByteLevel(true, false);

        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(vocab.Specials.Select(s => (JsonNode)new JsonObject
            {
                ["id"] = ids[s], ["content"] = s, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                ["normalized"] = false, ["special"] = true,
            }).ToArray()),
            ["normalizer"] = null,
            ["pre_tokenizer"] = ByteLevel(false, true),
            ["post_processor"] = postProcessor,
            ["decoder"] = ByteLevel(true, true),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false,
                ["vocab"] = vocabJson, ["merges"] = merges,
            },
        };
    }

    static JsonObject Special(string id, int typeId) => new() { ["SpecialToken"] = new JsonObject { ["id"] = id, ["type_id"] = typeId } };
    static JsonObject Sequence(string id, int typeId) => new() { ["Sequence"] = new JsonObject { ["id"] = id, ["type_id"] = typeId } };

    static JsonObject TokenizerConfig(BpeVocabulary vocab, Dictionary<string, int> ids, SpecialTokenRoles roles, int modelMaxLength)
    {
        var decoder = new JsonObject();
        foreach (var s in vocab.Specials)
            decoder[ids[s].ToString()] = new JsonObject
            {
                ["content"] = s, ["lstrip"] = false, ["normalized"] = false, ["rstrip"] = false, ["single_word"] = false, ["special"] = true,
            };
        return new JsonObject
        {
            ["add_bos_token"] = roles.AddBos,
            ["add_eos_token"] = false,
            ["added_tokens_decoder"] = decoder,
            ["bos_token"] = roles.Bos,
            ["eos_token"] = roles.Eos,
            ["pad_token"] = roles.Pad,
            ["clean_up_tokenization_spaces"] = false,
            ["model_max_length"] = modelMaxLength,
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
        };
    }
}
