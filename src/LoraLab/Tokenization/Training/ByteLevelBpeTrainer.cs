using System.Text;
using System.Text.RegularExpressions;

namespace LoraLab.Tokenization.Training;

/// A learnt byte-level BPE vocabulary: token strings in id order (spelled in GPT-2's byte-level alphabet,
/// the 256 byte tokens first), the merges in rank order, then the special tokens.
public sealed record BpeVocabulary(IReadOnlyList<string> Tokens, IReadOnlyList<(string Left, string Right)> Merges, IReadOnlyList<string> Specials)
{
    public int Count => Tokens.Count;
    public int IdOf(string token) => Tokens.Select((t, i) => (t, i)).First(p => p.t == token).i;
}

/// Learns a byte-level BPE (GPT-2 style) from text: words are cut with GPT-2's pattern, spelled as bytes, and
/// the most frequent adjacent pair is merged until the vocabulary is full. Small and exact rather than fast:
/// every round recounts all pairs, which is fine for the demo's closed vocabulary of a few thousand words.
public static class ByteLevelBpeTrainer
{
    /// The pattern tokenizers' ByteLevel pre-tokenizer uses when `use_regex` is true.
    public static readonly Regex WordPattern = new(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
        RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <param name="vocabSize">Total size including the 256 byte tokens and the specials.</param>
    /// <param name="minFrequency">Pairs seen fewer times are not merged (training may stop below vocabSize).</param>
    public static BpeVocabulary Train(IEnumerable<string> texts, int vocabSize, IReadOnlyList<string> specials, int minFrequency = 2)
    {
        if (vocabSize < 256 + specials.Count)
            throw new UserException($"vocabulary size {vocabSize} is too small: byte-level BPE needs 256 byte tokens plus {specials.Count} special tokens");
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var text in texts)
            foreach (var word in PreTokenize(text))
                counts[word] = counts.GetValueOrDefault(word) + 1;

        // Words as lists of current tokens, with their frequency.
        var words = counts.Select(kv => (Symbols: kv.Key.Select(c => c.ToString()).ToList(), Count: kv.Value)).ToList();
        var tokens = Enumerable.Range(0, 256).Select(b => ByteChar((byte)b).ToString()).ToList();
        var merges = new List<(string, string)>();
        int target = vocabSize - specials.Count;
        while (tokens.Count < target)
        {
            var pairs = new Dictionary<(string, string), long>();
            foreach (var (symbols, count) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    pairs[(symbols[i], symbols[i + 1])] = pairs.GetValueOrDefault((symbols[i], symbols[i + 1])) + count;
            if (pairs.Count == 0) break;
            // Highest count; ties go to the ordinally smallest pair so the result does not depend on hashing.
            var best = pairs.OrderByDescending(p => p.Value)
                .ThenBy(p => p.Key.Item1, StringComparer.Ordinal).ThenBy(p => p.Key.Item2, StringComparer.Ordinal).First();
            if (best.Value < minFrequency) break;
            var (left, right) = best.Key;
            merges.Add((left, right));
            tokens.Add(left + right);
            foreach (var (symbols, _) in words) MergeInPlace(symbols, left, right);
        }
        tokens.AddRange(specials);
        return new BpeVocabulary(tokens, merges, specials);
    }

    /// Text cut into words and spelled in the byte-level alphabet, as the ByteLevel pre-tokenizer does.
    public static IEnumerable<string> PreTokenize(string text) =>
        WordPattern.Matches(text).Select(m => ToByteLevel(m.Value));

    /// Encodes one byte-level word by applying the merges in rank order (leftmost first within a rank).
    public static IReadOnlyList<string> EncodeWord(string byteLevelWord, IReadOnlyList<(string Left, string Right)> merges)
    {
        var symbols = byteLevelWord.Select(c => c.ToString()).ToList();
        foreach (var (left, right) in merges) MergeInPlace(symbols, left, right);
        return symbols;
    }

    static void MergeInPlace(List<string> symbols, string left, string right)
    {
        for (int i = 0; i + 1 < symbols.Count; i++)
        {
            if (symbols[i] != left || symbols[i + 1] != right) continue;
            symbols[i] = left + right;
            symbols.RemoveAt(i + 1);
        }
    }

    public static string ToByteLevel(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var sb = new StringBuilder(bytes.Length);
        foreach (var b in bytes) sb.Append(ByteChar(b));
        return sb.ToString();
    }

    /// GPT-2's byte → printable character map: printable Latin-1 bytes stand for themselves, the other 68
    /// bytes take code points from U+0100 upward in byte order.
    public static char ByteChar(byte b) => Map[b];

    static readonly char[] Map = BuildMap();

    static char[] BuildMap()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
            map[b] = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF ? (char)b : (char)next++;
        return map;
    }
}
