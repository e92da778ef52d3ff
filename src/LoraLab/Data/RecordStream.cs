using System.Text;
using System.Text.Json;
using LoraLab.Runtime;

namespace LoraLab.Data;

/// One record's bytes as read from a data file, with the file offset and 1-based line where it starts. The bytes
/// are valid until the next record is read.
public readonly record struct RawRecord(ReadOnlyMemory<byte> Bytes, long Offset, long Line);

/// Reads the records of a JSON Lines file or a JSON array as a stream: only one record is held at a time, and one
/// longer than DataReadOptions.MaxRecordBytes is refused with its file and line before it is read whole.
public sealed class RecordStream : IDisposable
{
    const int Chunk = 1 << 16;
    readonly Stream _stream;
    readonly string _path;
    readonly DataReadOptions _options;
    readonly WideText? _wide; // a UTF-16 or UTF-32 file, read transcoded to UTF-8
    byte[] _buf = new byte[Chunk];
    int _start, _end;        // unread bytes are _buf[_start.._end)
    long _bufOffset;         // file offset of _buf[0]
    long _line = 1;
    bool _eof;

    RecordStream(string path, DataReadOptions options)
    {
        _path = path;
        _options = options;
        FileStream file;
        try { file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1); }
        catch (UnauthorizedAccessException) { throw new UserException($"{path}: cannot be read (permission denied)"); }
        catch (IOException e) { throw new UserException($"{path}: cannot be opened ({e.Message})"); }
        _wide = WideText.Detect(file);
        _stream = _wide is null ? file : Encoding.CreateTranscodingStream(file, _wide.Encoding, Encoding.UTF8);
        Fill();
        if (Available >= 3 && _buf[0] == 0xEF && _buf[1] == 0xBB && _buf[2] == 0xBF) _start = 3; // UTF-8 byte-order mark
    }

    public static RecordStream Open(string path, DataReadOptions options) => new(path, options);

    public void Dispose() => _stream.Dispose();

    int Available => _end - _start;

    /// Whether the file is a JSON array: its first character other than whitespace is '['.
    public bool IsArray() => SkipWhitespace() && _buf[_start] == '[';

    /// JSON Lines: every line that is not blank.
    public IEnumerable<RawRecord> Lines()
    {
        int scanned = _start;
        while (true)
        {
            int nl = Array.IndexOf(_buf, (byte)'\n', scanned, _end - scanned);
            if (nl < 0)
            {
                if (Available > _options.MaxRecordBytes) throw TooLong(_line);
                scanned = _end;
                int before = _start;
                if (Fill()) { scanned -= before - _start; continue; }
                if (Available > 0 && !IsBlank(_start, _end)) yield return Take(Available);
                yield break;
            }
            int length = nl - _start;
            if (length > _options.MaxRecordBytes) throw TooLong(_line);
            if (!IsBlank(_start, nl)) yield return new RawRecord(_buf.AsMemory(_start, length), _bufOffset + _start, _line);
            _start = nl + 1;
            _line++;
            scanned = _start;
        }
    }

    /// A JSON array: each element's bytes (the array's brackets and commas are checked here, each element's JSON
    /// by the caller's parser).
    public IEnumerable<RawRecord> ArrayElements()
    {
        if (!IsArray()) throw Malformed(_line, "expected '[' (a JSON array)");
        Advance(1);
        if (SkipWhitespace() && _buf[_start] == ']') yield break;
        while (true)
        {
            if (!SkipWhitespace()) throw Malformed(_line, "the file ends inside the array (no closing ']')");
            int length = ElementLength();
            if (length > _options.MaxRecordBytes) throw TooLong(_line);
            yield return Take(length);
            if (!SkipWhitespace()) throw Malformed(_line, "the file ends inside the array (no closing ']')");
            byte next = _buf[_start];
            Advance(1);
            if (next == ']') yield break;
            if (next != ',') throw Malformed(_line, $"expected ',' or ']' after a record, found '{(char)next}'");
        }
    }

    /// The byte length of the JSON value at _start, reading more of the file until it is complete.
    int ElementLength()
    {
        var options = new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip };
        while (true)
        {
            var reader = new Utf8JsonReader(_buf.AsSpan(_start, Available), _eof, new JsonReaderState(options));
            try
            {
                if (reader.Read() && reader.TrySkip()) return (int)reader.BytesConsumed;
            }
            catch (JsonException e) { throw Malformed(_line + (e.LineNumber ?? 0), DatasetReader.Reason(e)); }
            if (Available > _options.MaxRecordBytes) throw TooLong(_line);
            if (!Fill()) throw Malformed(_line, "the file ends inside a record");
        }
    }

    /// Moves at least one more byte into the window (compacting and growing the buffer up to the record limit);
    /// false at the end of the file.
    bool Fill()
    {
        if (_eof) return false;
        if (_start > 0)
        {
            Buffer.BlockCopy(_buf, _start, _buf, 0, Available);
            _bufOffset += _start;
            _end -= _start;
            _start = 0;
        }
        if (_end == _buf.Length)
            Array.Resize(ref _buf, (int)Math.Min((long)_buf.Length * 2, _options.MaxRecordBytes + Chunk + 1));
        int n;
        try { n = _stream.Read(_buf, _end, _buf.Length - _end); }
        catch (DecoderFallbackException)
        {
            var (line, offset) = _wide!.FirstInvalid(_path);
            throw new UserException($"{_path}:{line}: invalid {_wide.Name} at byte {offset}; re-encode the file as UTF-8");
        }
        if (n == 0) { _eof = true; return false; }
        _end += n;
        return true;
    }

    /// Skips whitespace and comments (counting lines); false at the end of the file.
    bool SkipWhitespace()
    {
        while (true)
        {
            while (_start < _end && _buf[_start] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') Advance(1);
            if (_start == _end) { if (!Fill()) return false; }
            else if (_buf[_start] != '/' || !SkipComment()) return true;
        }
    }

    /// Skips a `//` or `/* */` comment at _start (JSON files with comments loaded before records were streamed, with
    /// System.Text.Json's CommentHandling.Skip); false when there is none. A long comment is passed over chunk by
    /// chunk, never held whole.
    bool SkipComment()
    {
        while (Available < 2) if (!Fill()) return false;
        if (_buf[_start + 1] is not ((byte)'/' or (byte)'*')) return false;
        bool toLineEnd = _buf[_start + 1] == '/';
        var end = toLineEnd ? "\n"u8 : "*/"u8;
        Advance(2);
        while (true)
        {
            int i = _buf.AsSpan(_start, Available).IndexOf(end);
            if (i >= 0) { Advance(i + end.Length); return true; }
            Advance(Math.Max(0, Available - (end.Length - 1))); // keep a '*' that may open "*/" across chunks
            if (Fill()) continue;
            if (toLineEnd) { Advance(Available); return true; }
            throw Malformed(_line, "the file ends inside a /* comment");
        }
    }

    RawRecord Take(int length)
    {
        var record = new RawRecord(_buf.AsMemory(_start, length), _bufOffset + _start, _line);
        Advance(length);
        return record;
    }

    void Advance(int n)
    {
        _line += _buf.AsSpan(_start, n).Count((byte)'\n');
        _start += n;
    }

    bool IsBlank(int from, int to) => _buf.AsSpan(from, to - from).Trim(" \t\r"u8).IsEmpty;

    UserException TooLong(long line) => new(
        $"{_path}:{line}: record is over the {BoundedFile.Size(_options.MaxRecordBytes)} limit (--max-record-bytes {_options.MaxRecordBytes}); " +
        "raise --max-record-bytes if records this long are intended");

    UserException Malformed(long line, string reason) => new($"{_path}:{line}: malformed JSON: {reason}");

    /// The record as text: strict UTF-8 unless DataReadOptions.ReplaceInvalidUtf8, where bad bytes become U+FFFD.
    public static string Decode(RawRecord record, string path, DataReadOptions options)
    {
        var bytes = record.Bytes.Span;
        if (options.ReplaceInvalidUtf8 || System.Text.Unicode.Utf8.IsValid(bytes)) return Encoding.UTF8.GetString(bytes);
        int bad = 0;
        while (Rune.DecodeFromUtf8(bytes[bad..], out _, out int consumed) == System.Buffers.OperationStatus.Done) bad += consumed;
        long line = record.Line + bytes[..bad].Count((byte)'\n');
        throw new UserException($"{path}:{line}: invalid UTF-8 at byte {record.Offset + bad}; re-encode the file as UTF-8 or pass --encoding-errors replace");
    }
}
