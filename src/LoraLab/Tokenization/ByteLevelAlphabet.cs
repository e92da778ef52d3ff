using System.Text;

namespace LoraLab.Tokenization;

/// GPT-2's byte-level alphabet: every byte becomes a printable character, so BPE over characters is BPE over
/// bytes. Printable Latin-1 bytes stand for themselves; the other 68 take the code points from U+0100 upward.
internal static class ByteLevelAlphabet
{
    static readonly char[] ByteToChar = BuildByteToChar();
    static readonly Dictionary<char, byte> CharToByte = Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }

    /// Text → its UTF-8 bytes, spelled in the byte-level alphabet.
    public static string Encode(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return string.Create(bytes.Length, bytes, (chars, b) =>
        {
            for (int i = 0; i < b.Length; i++) chars[i] = ByteToChar[b[i]];
        });
    }

    /// A token spelled in the byte-level alphabet → the bytes it stands for. A character outside the
    /// alphabet (possible only in a hand-made vocabulary) is kept as its own UTF-8.
    public static byte[] Decode(string token)
    {
        var bytes = new List<byte>(token.Length);
        foreach (var c in token)
        {
            if (CharToByte.TryGetValue(c, out var b)) bytes.Add(b);
            else bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        }
        return [.. bytes];
    }
}
