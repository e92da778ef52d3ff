using System.Text;
using LoraLab.Tokenization;

namespace LoraLab.Tests.Fakes;

/// A deterministic stand-in tokenizer for data tests: one id per UTF-8 byte (byte + 16), pad 0, BOS 1
/// ("<s>"), EOS 2 ("</s>"), and chat markers as special tokens. `<s>`/`</s>` are deliberately not in
/// `SpecialTokens` (as with SentencePiece models, where they are control pieces), so the pipeline must map them itself.
public sealed class CharTokenizer : ITokenizer
{
    public const int Pad = 0, Bos = 1, Eos = 2, ByteOffset = 16;

    public static readonly IReadOnlyDictionary<string, int> ChatSpecials = new Dictionary<string, int>
    {
        ["<|im_start|>"] = 3, ["<|im_end|>"] = 4, ["<|start_header_id|>"] = 5, ["<|end_header_id|>"] = 6, ["<|eot_id|>"] = 7,
    };

    readonly Dictionary<string, int> _specials;

    /// <param name="padId">Pad id, or null for a tokenizer without one; pass <see cref="Eos"/> for pad == eos.</param>
    /// <param name="chatSpecials">Whether the chat markers are special tokens (else they are plain text).</param>
    public CharTokenizer(int? padId = Pad, bool addBos = true, bool chatSpecials = true)
    {
        PadId = padId;
        AddBosByDefault = addBos;
        _specials = chatSpecials ? new Dictionary<string, int>(ChatSpecials) : new Dictionary<string, int>();
    }

    public int VocabSize => ByteOffset + 256;
    public int BaseVocabSize => VocabSize;
    public IReadOnlyCollection<AddedToken> AddedTokens => [];
    public int? BosId => Bos;
    public int? EosId => Eos;
    public int? PadId { get; }
    public IReadOnlyDictionary<string, int> SpecialTokens => _specials;
    public bool AddBosByDefault { get; }
    public bool AddEosByDefault => false;
    public string? ChatTemplate => null;

    public byte[] TokenBytes(int id) => id >= ByteOffset ? new[] { (byte)(id - ByteOffset) } : Encoding.UTF8.GetBytes(TokenText(id));

    public IReadOnlyList<int> Encode(string text, bool addBos = false, bool addEos = false)
    {
        var ids = new List<int>();
        if (addBos) ids.Add(Bos);
        int i = 0;
        while (i < text.Length)
        {
            var special = _specials.Keys.Where(s => string.CompareOrdinal(text, i, s, 0, s.Length) == 0)
                                        .OrderByDescending(s => s.Length).FirstOrDefault();
            if (special is not null) { ids.Add(_specials[special]); i += special.Length; continue; }
            int next = i + 1;
            while (next < text.Length && !_specials.Keys.Any(s => string.CompareOrdinal(text, next, s, 0, s.Length) == 0)) next++;
            ids.AddRange(Encoding.UTF8.GetBytes(text[i..next]).Select(b => b + ByteOffset));
            i = next;
        }
        if (addEos) ids.Add(Eos);
        return ids;
    }

    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        var sb = new StringBuilder();
        var bytes = new List<byte>();
        void Flush() { sb.Append(Encoding.UTF8.GetString(bytes.ToArray())); bytes.Clear(); }
        foreach (var id in ids)
        {
            if (id >= ByteOffset) { bytes.Add((byte)(id - ByteOffset)); continue; }
            Flush();
            if (!skipSpecialTokens) sb.Append(TokenText(id));
        }
        Flush();
        return sb.ToString();
    }

    public string TokenText(int id) => id switch
    {
        Pad => "<pad>",
        Bos => "<s>",
        Eos => "</s>",
        >= ByteOffset => Encoding.Latin1.GetString([(byte)(id - ByteOffset)]),
        _ => ChatSpecials.First(p => p.Value == id).Key,
    };

    /// Ids of text as plain bytes, for building expected values in tests.
    public static int[] Bytes(string text) => Encoding.UTF8.GetBytes(text).Select(b => b + ByteOffset).ToArray();
}
