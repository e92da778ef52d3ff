namespace LoraLab.Cli.Commands;

/// The data-reading flags of train, eval and data preview, spelt and described once (LoraLab.Data.DataReadOptions
/// holds the default and the checks).
static class DataReadFlags
{
    public const string MaxRecordBytes = "--max-record-bytes <BYTES>";
    public const string MaxRecordBytesHelp = "Largest data record (one JSONL line or JSON array element) in bytes; a longer one is an error naming its line (default 4000000 = 4 MB).";
    public const string EncodingErrors = "--encoding-errors <MODE>";
    public const string EncodingErrorsHelp = "strict (default): bytes in the data that are not UTF-8 are an error naming file, line and byte; replace: they become U+FFFD.";
}
