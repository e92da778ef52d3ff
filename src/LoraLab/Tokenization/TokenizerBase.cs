using System.Text;

namespace LoraLab.Tokenization;

/// What every BPE tokenizer here shares: added-token matching, BOS/EOS handling and resolution from the model
/// folder's settings, and byte-exact decoding. Subclasses supply the model: how a stretch of plain text
/// becomes ids, and which bytes a model token stands for.
public abstract class TokenizerBase : ITokenizer
{
    AddedTokenSplitter _splitter = new([]);
    Dictionary<int, AddedToken> _addedById = [];
    Dictionary<string, int> _special = [];

    public int VocabSize { get; private set; }
    public int? BosId { get; private set; }
    public int? EosId { get; private set; }
    public int? PadId { get; private set; }
    public IReadOnlyDictionary<string, int> SpecialTokens => _special;
    public bool AddBosByDefault { get; private set; }
    public bool AddEosByDefault { get; private set; }
    public string? ChatTemplate { get; private set; }
    public IReadOnlyCollection<AddedToken> AddedTokens => _addedById.Values;

    public abstract int BaseVocabSize { get; }
    /// Appends the ids of a stretch of text that holds no added token. `atTextStart` tells whether it opens
    /// the whole input (some pre-tokenizers prepend "▁" only there).
    protected abstract void EncodePlain(string text, bool atTextStart, List<int> output);
    /// The bytes a (non-added) model token stands for, with "▁" already turned into a space.
    protected abstract ReadOnlySpan<byte> ModelTokenBytes(int id);
    /// Whether decoding drops the one space that encoding put before the text (SentencePiece dummy prefix).
    protected abstract bool StripsLeadingSpace { get; }
    /// Looks a token string up in the model vocabulary.
    protected abstract int? ModelTokenToId(string token);
    /// The bytes an added token decodes to when it goes through the model's decoder like any other token (Hugging
    /// Face tokenizer.json: Gemma lists "▁▁" as an added token), then also subject to the leading-space strip; null
    /// when it is emitted verbatim (SentencePiece).
    protected virtual byte[]? DecodedAddedToken(AddedToken token) => null;

    /// The model file's own defaults, overridden by whatever `settings` states. Call once, from the constructor.
    protected void Configure(IEnumerable<AddedToken> addedTokens, TokenizerSettings settings, string source,
        int? defaultBos, int? defaultEos, int? defaultPad, bool defaultAddBos, bool defaultAddEos)
    {
        _addedById = [];
        foreach (var t in addedTokens.Concat(settings.AddedTokens)) _addedById[t.Id] = t;
        _splitter = new AddedTokenSplitter(_addedById.Values);
        VocabSize = Math.Max(BaseVocabSize, _addedById.Count == 0 ? 0 : _addedById.Keys.Max() + 1);
        _special = _addedById.Values.Where(t => t.Special).GroupBy(t => t.Content).ToDictionary(g => g.Key, g => g.First().Id);

        BosId = Resolve(settings.BosToken, "bos_token", source) ?? settings.BosTokenId ?? defaultBos;
        EosId = Resolve(settings.EosToken, "eos_token", source) ?? settings.EosTokenId ?? defaultEos;
        PadId = Resolve(settings.PadToken, "pad_token", source) ?? settings.PadTokenId ?? defaultPad;
        AddBosByDefault = settings.AddBosToken ?? defaultAddBos;
        AddEosByDefault = settings.AddEosToken ?? defaultAddEos;
        ChatTemplate = settings.ChatTemplate;
    }

    int? Resolve(string? token, string field, string source)
    {
        if (token is null) return null;
        foreach (var t in _addedById.Values) if (t.Content == token) return t.Id;
        return ModelTokenToId(token)
            ?? throw new UserException($"tokenizer_config.json: {field} '{token}' is not a token of {source}");
    }

    public IReadOnlyList<int> Encode(string text, bool addBos = false, bool addEos = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 2);
        if (addBos) ids.Add(BosId ?? throw new UserException("this tokenizer has no BOS token, but one was asked for"));
        foreach (var (piece, token, start) in _splitter.Split(text))
        {
            if (token is not null) ids.Add(token.Id);
            else EncodePlain(piece, start == 0, ids);
        }
        if (addEos) ids.Add(EosId ?? throw new UserException("this tokenizer has no EOS token, but one was asked for"));
        return ids;
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        var bytes = new List<byte>();
        bool? firstIsModelToken = null; // or an added token that went through the decoder
        foreach (var id in ids)
        {
            CheckId(id);
            if (_addedById.TryGetValue(id, out var added))
            {
                if (added.Special && skipSpecialTokens) continue;
                var decoded = DecodedAddedToken(added);
                bytes.AddRange(decoded ?? Encoding.UTF8.GetBytes(added.Content));
                firstIsModelToken ??= decoded != null;
            }
            else
            {
                if (id >= BaseVocabSize) continue; // a gap id between the model and added tokens: no text
                bytes.AddRange(ModelTokenBytes(id));
                firstIsModelToken ??= true;
            }
        }
        var text = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
        // Like Hugging Face's Strip decoder: one space, and only when the output opens with a model token.
        return StripsLeadingSpace && firstIsModelToken == true && text.StartsWith(' ') ? text[1..] : text;
    }

    public string TokenText(int id) => Encoding.UTF8.GetString(TokenBytes(id));

    public byte[] TokenBytes(int id)
    {
        CheckId(id);
        if (_addedById.TryGetValue(id, out var added)) return DecodedAddedToken(added) ?? Encoding.UTF8.GetBytes(added.Content);
        return id < BaseVocabSize ? ModelTokenBytes(id).ToArray() : [];
    }

    void CheckId(int id)
    {
        if (id < 0 || id >= VocabSize) throw new UserException($"token id {id} is outside the vocabulary (size {VocabSize})");
    }
}
