using System.Text;

namespace LoraLab.Data;

/// A data file in UTF-16 or UTF-32, told by its byte-order mark (Windows PowerShell's `>` writes UTF-16): the
/// encoding to transcode it from, and where a strict decode of it first fails.
public sealed record WideText(Encoding Encoding, string Name, int MarkLength)
{
    /// The file's wide encoding (strict: invalid text throws DecoderFallbackException), or null for UTF-8.
    /// Leaves the file positioned after the mark.
    public static WideText? Detect(FileStream file)
    {
        Span<byte> head = stackalloc byte[4];
        int n = file.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        WideText? found = head[..n] switch
        {
            [0xFF, 0xFE, 0, 0] => new(new UTF32Encoding(false, false, true), "UTF-32", 4), // before UTF-16 LE, whose mark it starts with
            [0, 0, 0xFE, 0xFF] => new(new UTF32Encoding(true, false, true), "UTF-32", 4),
            [0xFF, 0xFE, ..] => new(new UnicodeEncoding(false, false, true), "UTF-16", 2),
            [0xFE, 0xFF, ..] => new(new UnicodeEncoding(true, false, true), "UTF-16", 2),
            _ => null,
        };
        file.Position = found?.MarkLength ?? 0;
        return found;
    }

    /// The 1-based line and file offset of the first code unit that does not decode. A transcoding stream only says
    /// that some chunk failed, so the error path decodes the file again unit by unit.
    public (long Line, long Offset) FirstInvalid(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        file.Position = MarkLength;
        var decoder = Encoding.GetDecoder();
        int unit = MarkLength; // a UTF-16 or UTF-32 code unit is as long as its mark
        var bytes = new byte[unit];
        var chars = new char[2];
        long line = 1, offset = MarkLength, pending = -1; // pending: a high surrogate's offset, awaiting its low half
        try
        {
            for (; file.ReadAtLeast(bytes, unit, throwOnEndOfStream: false) == unit; offset += unit)
            {
                int n = decoder.GetChars(bytes, 0, unit, chars, 0, flush: false);
                pending = n == 0 ? offset : -1;
                if (n == 1 && chars[0] == '\n') line++;
            }
            decoder.GetChars([], 0, 0, chars, 0, flush: true);
        }
        catch (DecoderFallbackException) { }
        return (line, pending >= 0 ? pending : offset);
    }
}
