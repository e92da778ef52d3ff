using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;

namespace LoraLab.Tokenization;

/// The `model` of a Hugging Face tokenizer.json of type BPE: merges applied by rank (lowest first, the
/// leftmost on ties, as tokenizers' `Word::merge_all`), with byte fallback, unknown-token fusing and
/// `ignore_merges` (whole words found in the vocabulary are taken as they are, as Llama 3 asks).
internal sealed class HfBpeModel
{
    readonly Dictionary<string, int> _vocab;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    readonly Dictionary<long, (int Rank, int Id)> _merges = [];
    readonly int[] _byteIds = Enumerable.Repeat(-1, 256).ToArray();
    readonly int? _unkId;
    readonly bool _fuseUnk, _byteFallback, _ignoreMerges;
    // Words repeat a lot in real text; the cache spares re-merging them. Cleared when full to bound memory.
    readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    const int CacheCapacity = 50_000, CachedWordMaxLength = 64;

    public string[] IdToToken { get; }
    public bool ByteFallback => _byteFallback;
    public bool IgnoresMerges => _ignoreMerges;
    public int? TokenToId(string token) => _vocab.TryGetValue(token, out var id) ? id : null;

    public HfBpeModel(JsonElement model, string file)
    {
        var type = TokenizerJson.Str(model, "type");
        if (type is not (null or "BPE"))
            throw new UserException($"{file}: model type '{type}' is not supported (only BPE)");
        if (TokenizerJson.Str(model, "continuing_subword_prefix") is { Length: > 0 } || TokenizerJson.Str(model, "end_of_word_suffix") is { Length: > 0 })
            throw new UserException($"{file}: BPE continuing_subword_prefix / end_of_word_suffix are not supported");

        var vocab = TokenizerJson.Obj(model, "vocab") ?? throw new UserException($"{file}: model has no 'vocab' object");
        _vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in vocab.EnumerateObject()) _vocab[p.Name] = p.Value.GetInt32();
        _vocabBySpan = _vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        IdToToken = new string[_vocab.Count == 0 ? 0 : _vocab.Values.Max() + 1];
        foreach (var (token, id) in _vocab) IdToToken[id] = token;

        if (!model.TryGetProperty("merges", out var merges) || merges.ValueKind != JsonValueKind.Array)
            throw new UserException($"{file}: model has no 'merges' list");
        int rank = 0;
        foreach (var m in merges.EnumerateArray())
        {
            var (a, b) = MergePair(m, rank, file);
            int idA = Lookup(a, rank, file), idB = Lookup(b, rank, file), merged = Lookup(a + b, rank, file);
            _merges[Key(idA, idB)] = (rank, merged); // a repeated pair keeps its last rank, as tokenizers' map does
            rank++;
        }

        _unkId = TokenizerJson.Str(model, "unk_token") is { } unk && _vocab.TryGetValue(unk, out var unkId) ? unkId : null;
        _fuseUnk = TokenizerJson.Bool(model, "fuse_unk") ?? false;
        _byteFallback = TokenizerJson.Bool(model, "byte_fallback") ?? false;
        _ignoreMerges = TokenizerJson.Bool(model, "ignore_merges") ?? false;
        for (int b = 0; b < 256; b++) if (_vocab.TryGetValue($"<0x{b:X2}>", out var id)) _byteIds[b] = id;
    }

    static long Key(int a, int b) => ((long)a << 32) | (uint)b;

    int Lookup(string token, int rank, string file) => _vocab.TryGetValue(token, out var id) ? id
        : throw new UserException($"{file}: merge {rank} uses '{token}', which is not in the vocabulary");

    // Merges are "a b" strings (older files) or ["a", "b"] pairs (newer files, which allow spaces in tokens).
    static (string, string) MergePair(JsonElement m, int rank, string file)
    {
        if (m.ValueKind == JsonValueKind.String)
        {
            var parts = m.GetString()!.Split(' ');
            if (parts.Length == 2) return (parts[0], parts[1]);
        }
        else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2 && m[0].ValueKind == JsonValueKind.String && m[1].ValueKind == JsonValueKind.String)
            return (m[0].GetString()!, m[1].GetString()!);
        throw new UserException($"{file}: merge {rank} must be \"a b\" or [\"a\", \"b\"], not {m}");
    }

    /// Appends the ids of one pre-tokenized word.
    public void Encode(string word, List<int> output)
    {
        if (word.Length == 0) return;
        bool cacheable = word.Length <= CachedWordMaxLength;
        if (cacheable && _cache.TryGetValue(word, out var cached)) { output.AddRange(cached); return; }
        if (_ignoreMerges && _vocab.TryGetValue(word, out var whole)) { output.Add(whole); return; }

        var symbols = new List<MergeSymbol>(word.Length);
        bool lastWasUnk = false;
        for (int i = 0; i < word.Length;)
        {
            int length = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            var ch = word.AsSpan(i, length);
            if (_vocabBySpan.TryGetValue(ch, out var id))
            {
                symbols.Add(new MergeSymbol { Id = id, Start = i, Length = length });
                lastWasUnk = false;
            }
            else if (_byteFallback && TryAddBytes(ch, i, symbols))
            {
                lastWasUnk = false;
            }
            else if (_unkId is int unk)
            {
                if (_fuseUnk && lastWasUnk) symbols[^1] = symbols[^1] with { Length = symbols[^1].Length + length };
                else symbols.Add(new MergeSymbol { Id = unk, Start = i, Length = length });
                lastWasUnk = true;
            }
            // With neither byte fallback nor an unknown token, tokenizers drops the character; so do we.
            i += length;
        }
        if (symbols.Count == 0) return;
        PairMerger.Link(symbols);
        PairMerger.Merge(symbols, new RankRule(_merges));

        int before = output.Count;
        for (int i = 0; i >= 0; i = symbols[i].Next) output.Add(symbols[i].Id);
        if (cacheable)
        {
            if (_cache.Count >= CacheCapacity) _cache.Clear();
            _cache[word] = output.GetRange(before, output.Count - before).ToArray();
        }
    }

    // Byte fallback applies only when every byte of the character has its <0xXX> token.
    bool TryAddBytes(ReadOnlySpan<char> ch, int start, List<MergeSymbol> symbols)
    {
        Span<byte> bytes = stackalloc byte[4];
        int n = Encoding.UTF8.GetBytes(ch, bytes);
        for (int k = 0; k < n; k++) if (_byteIds[bytes[k]] < 0) return false;
        for (int k = 0; k < n; k++) symbols.Add(new MergeSymbol { Id = _byteIds[bytes[k]], Start = start, Length = k == 0 ? ch.Length : 0 });
        return true;
    }

    readonly struct RankRule(Dictionary<long, (int Rank, int Id)> merges) : IMergeRule
    {
        public bool TryMerge(in MergeSymbol left, in MergeSymbol right, out float priority, out int mergedId)
        {
            if (merges.TryGetValue(Key(left.Id, right.Id), out var m)) { priority = m.Rank; mergedId = m.Id; return true; }
            priority = 0; mergedId = -1;
            return false;
        }
    }
}
