using LoraLab.Tokenization;

namespace LoraLab.ModelFiles;

/// A tokenizer whose added tokens reach past the model's embedding rows (ids ≥ vocab_size): encoding that
/// produces such an id is a user error naming the token, instead of an index error inside the model.
public sealed class EmbeddingLimitedTokenizer(ITokenizer inner, int rows, string where, string file) : ITokenizer
{
    /// The added-token ids at or past `rows`, in order.
    public IReadOnlyList<AddedToken> Unembedded { get; } = inner.AddedTokens.Where(t => t.Id >= rows).OrderBy(t => t.Id).ToArray();

    public IReadOnlyList<int> Encode(string text, bool addBos = false, bool addEos = false)
    {
        var ids = inner.Encode(text, addBos, addEos);
        foreach (var id in ids)
            if (id >= rows)
                throw new UserException($"{where}the text contains '{inner.TokenText(id)}' (id {id} in {file}), which has no embedding row (config.json vocab_size is {rows})");
        return ids;
    }

    /// Padded positions are masked out, so any embedded id serves: past the rows, batches pad with EOS instead.
    public int? PadId => inner.PadId < rows ? inner.PadId : null;

    public int VocabSize => inner.VocabSize;
    public int BaseVocabSize => inner.BaseVocabSize;
    public int? BosId => inner.BosId;
    public int? EosId => inner.EosId;
    public IReadOnlyDictionary<string, int> SpecialTokens => inner.SpecialTokens;
    public bool AddBosByDefault => inner.AddBosByDefault;
    public bool AddEosByDefault => inner.AddEosByDefault;
    public string? ChatTemplate => inner.ChatTemplate;
    public IReadOnlyCollection<AddedToken> AddedTokens => inner.AddedTokens;
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true) => inner.Decode(ids, skipSpecialTokens);
    public string TokenText(int id) => inner.TokenText(id);
    public byte[] TokenBytes(int id) => inner.TokenBytes(id);
}
