using System.Text;
using LoraLab.Data;
using LoraLab.Evaluation;
using Xunit;

namespace LoraLab.Tests.Inputs;

/// Data files are read as a stream of records, each under --max-record-bytes, and bytes that are not UTF-8 are an
/// error naming file, line and byte unless --encoding-errors replace.
public class DataStreamTests() : ScratchFolderTest("data")
{
    static readonly DataReadOptions Small = new() { MaxRecordBytes = 1000 };
    static string Text(int i, int pad = 60) => $"{{\"text\": \"record {i} {new string('x', pad)}\"}}";

    string WriteBytes(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void AJsonLinesRecordOverTheLimitNamesFileLineAndLimit()
    {
        var path = Write("long.jsonl", Text(0) + "\n\n" + Text(1, 5000) + "\n" + Text(2) + "\n");
        var e = Assert.Throws<UserException>(() => DatasetReader.Load(path, Small));
        Assert.Equal($"{path}:3: record is over the 1 KB limit (--max-record-bytes 1000); raise --max-record-bytes if records this long are intended", e.Message);
    }

    [Fact]
    public void AJsonLinesFileWithoutNewlinesStopsAtTheLimit()
    {
        // the last record has no newline, and is read chunk by chunk until it passes the limit
        var path = Write("one.jsonl", Text(0, 200_000));
        var e = Assert.Throws<UserException>(() => DatasetReader.Load(path, new DataReadOptions { MaxRecordBytes = 100_000 }));
        Assert.StartsWith($"{path}:1: record is over the 100 KB limit", e.Message);
    }

    [Fact]
    public void TheDefaultLimitRefusesAHugeLineWithoutReadingItWhole()
    {
        var path = Write("huge.jsonl", Text(0) + "\n" + Text(1, 6_000_000) + "\n");
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var e = Assert.Throws<UserException>(() => DatasetReader.Load(path));
        Assert.StartsWith($"{path}:2: record is over the 4 MB limit (--max-record-bytes {DataReadOptions.DefaultMaxRecordBytes})", e.Message);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.True(allocated < 40_000_000, $"allocated {allocated} bytes"); // the 6 MB line whole costs ~40× that
    }

    [Fact]
    public void AJsonArrayElementOverTheLimitNamesItsLine()
    {
        var path = Write("long.json", "[\n" + Text(0) + ",\n" + Text(1) + ",\n" + Text(2, 5000) + "\n]\n");
        var e = Assert.Throws<UserException>(() => DatasetReader.Load(path, Small));
        Assert.StartsWith($"{path}:4: record is over the 1 KB limit", e.Message);
    }

    [Theory]
    [InlineData(".jsonl")]
    [InlineData(".json")]
    public void ManySmallRecordsStreamPastTheLimitAndChunkBoundaries(string ext)
    {
        var records = Enumerable.Range(0, 3000).Select(i => Text(i)).ToList();
        var path = Write("many" + ext, ext == ".json" ? "[\n" + string.Join(",\n", records) + "\n]" : string.Join("\n", records));
        var loaded = DatasetReader.Load(path, Small);
        Assert.Equal(3000, loaded.Count);
        Assert.Equal($"record 2999 {new string('x', 60)}", ((TextRecord)loaded[2999]).Text);
        Assert.Equal(ext == ".json" ? $"{path}: record [2999]" : $"{path}:3000", loaded[2999].Origin);
    }

    [Fact]
    public void ABadArrayIsMalformedAtItsLine()
    {
        var path = Write("bad.json", "[\n" + Text(0) + "\n" + Text(1) + "\n]");
        Assert.StartsWith($"{path}:3: malformed JSON: expected ',' or ']'", Assert.Throws<UserException>(() => DatasetReader.Load(path)).Message);
        var open = Write("open.json", "[\n" + Text(0) + ",\n");
        Assert.StartsWith($"{open}:3: malformed JSON", Assert.Throws<UserException>(() => DatasetReader.Load(open)).Message);
    }

    [Theory]
    [InlineData(".jsonl")]
    [InlineData(".json")]
    public void InvalidUtf8IsAnErrorWithFileLineAndByte(string ext)
    {
        // "café" in Latin-1: é is the single byte 0xE9
        var head = ext == ".json" ? "[\n" + Text(0) + ",\n" + Text(1) + ",\n" : Text(0) + "\n" + Text(1) + "\n";
        var bytes = Encoding.ASCII.GetBytes(head + "{\"text\": \"caf").Concat(new byte[] { 0xE9 }).Concat(Encoding.ASCII.GetBytes("\"}\n" + (ext == ".json" ? "]" : ""))).ToArray();
        var path = WriteBytes("latin1" + ext, bytes);
        long offset = Array.IndexOf(bytes, (byte)0xE9);
        int line = ext == ".json" ? 4 : 3;
        var e = Assert.Throws<UserException>(() => DatasetReader.Load(path));
        Assert.Equal($"{path}:{line}: invalid UTF-8 at byte {offset}; re-encode the file as UTF-8 or pass --encoding-errors replace", e.Message);

        var replaced = DatasetReader.Load(path, new DataReadOptions { ReplaceInvalidUtf8 = true });
        Assert.Equal("caf\uFFFD", ((TextRecord)replaced[2]).Text);
    }

    [Fact]
    public void EvalDataIsStreamedAndStrictToo()
    {
        var bytes = Encoding.ASCII.GetBytes("{\"input_ids\": [1]}\n{\"text\": \"").Concat(new byte[] { 0xC3, 0x28 }).Concat(Encoding.ASCII.GetBytes("\"}\n")).ToArray();
        var path = WriteBytes("eval.jsonl", bytes);
        var e = Assert.Throws<UserException>(() => EvalData.Load(path, () => throw new InvalidOperationException("no tokenizer needed")));
        Assert.Equal($"{path}:2: invalid UTF-8 at byte {Array.IndexOf(bytes, (byte)0xC3)}; re-encode the file as UTF-8 or pass --encoding-errors replace", e.Message);

        var longLine = Write("long-eval.jsonl", "{\"input_ids\": [" + string.Join(", ", Enumerable.Range(0, 1000)) + "]}\n");
        Assert.StartsWith($"{longLine}:1: record is over the 1 KB limit", Assert.Throws<UserException>(() => EvalData.Load(longLine, () => null!, Small)).Message);
    }

    [Fact]
    public void AByteOrderMarkIsSkipped()
    {
        var path = WriteBytes("bom.jsonl", Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(Text(0) + "\n")).ToArray());
        Assert.Single(DatasetReader.Load(path));
    }

    /// JSON with comments loaded before the stream reader (System.Text.Json's CommentHandling.Skip): comments
    /// between an array's records are skipped too, wherever the read chunks fall.
    [Fact]
    public void CommentsInAJsonArrayAreSkipped()
    {
        var path = Write("commented.json", "// exported 2026-12-01\n[\n  // first\n  " + Text(0) + ", /* second, a / and a * inside */ " + Text(1) +
            "\n  /* long: " + new string('*', 70_000) + " */\n, " + Text(2) + " // trailing\n]\n// end");
        Assert.Equal(["record 0", "record 1", "record 2"], DatasetReader.Load(path).Select(r => ((TextRecord)r).Text[..8]));
        var open = Write("open.json", "[" + Text(0) + ", /* never closed");
        Assert.Equal($"{open}:1: malformed JSON: the file ends inside a /* comment", Assert.Throws<UserException>(() => DatasetReader.Load(open)).Message);
    }

    /// Windows PowerShell's `>` writes UTF-16 with a byte-order mark; File.ReadAllText read it, so the stream does.
    [Theory]
    [InlineData("utf-16")]
    [InlineData("utf-16BE")]
    [InlineData("utf-32")]
    public void AUtf16OrUtf32FileWithAByteOrderMarkIsDecoded(string encoding)
    {
        var enc = Encoding.GetEncoding(encoding);
        var text = "{\"text\": \"caf\u00e9 \ud83d\ude00\"}\r\n" + Text(1) + "\r\n";
        var path = WriteBytes("wide.jsonl", enc.GetPreamble().Concat(enc.GetBytes(text)).ToArray());
        Assert.Equal(["caf\u00e9 \ud83d\ude00", ((TextRecord)DatasetReader.Load(Write("narrow.jsonl", text))[1]).Text],
            DatasetReader.Load(path).Select(r => ((TextRecord)r).Text));
    }

    [Fact]
    public void InvalidUtf16IsAnErrorNamingTheFile()
    {
        // a lone high surrogate (D800) on line 2
        var before = Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(Text(0) + "\n{\"text\": \"")).ToArray();
        var path = WriteBytes("bad16.jsonl", before.Concat(new byte[] { 0x00, 0xD8, 0x41, 0x00 }).Concat(Encoding.Unicode.GetBytes("\"}\n")).ToArray());
        Assert.Equal($"{path}:2: invalid UTF-16 at byte {before.Length}; re-encode the file as UTF-8",
            Assert.Throws<UserException>(() => DatasetReader.Load(path)).Message);
    }

    [Fact]
    public void BadFlagValuesAreNamed()
    {
        Assert.Equal("--max-record-bytes must be between 1 and 1000000000, got 0", Assert.Throws<UserException>(() => DataReadOptions.From(0, null)).Message);
        Assert.Equal("--encoding-errors: unknown value 'ignore' (strict or replace)", Assert.Throws<UserException>(() => DataReadOptions.From(null, "ignore")).Message);
        Assert.Equal(new DataReadOptions { MaxRecordBytes = 2048, ReplaceInvalidUtf8 = true }, DataReadOptions.From(2048, "replace"));
    }
}
