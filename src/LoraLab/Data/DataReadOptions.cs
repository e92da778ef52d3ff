using LoraLab.Runtime;

namespace LoraLab.Data;

/// What to do with bytes in data files that are not UTF-8: refuse the file (naming file, line and byte), or read U+FFFD.
public enum EncodingErrors { Strict, Replace }

/// How data files are read: the most bytes one record may take, and what to do with bytes that are not UTF-8.
public sealed record DataReadOptions
{
    /// 4 MB per record (one JSONL line or JSON array element). Alpaca records are under 10 KB; a 128k-token chat
    /// conversation is ~0.5 MB of text and 128k pre-tokenized input_ids ~0.8 MB of JSON, so real records fit with
    /// room to spare, while parsing one (~40× its size in memory) stays near 160 MB.
    public const long DefaultMaxRecordBytes = 4_000_000;
    /// The accepted --max-record-bytes (RunSettings.MaxRecordBytes for train's flag and YAML key, here for eval
    /// and data preview): a record is held in one array while it is parsed, so at most 1 GB.
    public static readonly NumberRange RecordBytesRange = new(1, 1_000_000_000, Whole: true);

    public long MaxRecordBytes { get; init; } = DefaultMaxRecordBytes;
    /// Replace invalid UTF-8 with U+FFFD (--encoding-errors replace) instead of refusing the file.
    public bool ReplaceInvalidUtf8 { get; init; }

    public static readonly DataReadOptions Default = new();

    /// The options a command's --max-record-bytes and --encoding-errors give (null: the default).
    public static DataReadOptions From(long? maxRecordBytes, string? encodingErrors)
    {
        long max = maxRecordBytes ?? DefaultMaxRecordBytes;
        RecordBytesRange.Check("--max-record-bytes", max);
        var mode = EncodingErrors.Strict;
        if (encodingErrors is not null && !Configuration.RunChoices.EncodingErrors.TryParse(encodingErrors, out mode))
            throw new UserException($"--encoding-errors: unknown value '{encodingErrors}' ({Configuration.RunChoices.EncodingErrors.Describe()})");
        return From(max, mode);
    }

    public static DataReadOptions From(long maxRecordBytes, EncodingErrors mode) =>
        new() { MaxRecordBytes = maxRecordBytes, ReplaceInvalidUtf8 = mode == EncodingErrors.Replace };
}
