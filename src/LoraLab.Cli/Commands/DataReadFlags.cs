using LoraLab.Configuration;

namespace LoraLab.Cli.Commands;

/// The data-reading flags of eval and data preview, spelt and described as train's run settings (RunSettings), with
/// the default written out because these verbs' help has no DEFAULT column filled from RunConfig.
static class DataReadFlags
{
    public const string MaxRecordBytes = RunSettings.MaxRecordBytesFlag;
    public const string MaxRecordBytesHelp = RunSettings.MaxRecordBytesHelp + " (default 4000000 = 4 MB)";
    public const string EncodingErrors = RunSettings.EncodingErrorsFlag;
    public const string EncodingErrorsHelp = RunSettings.EncodingErrorsHelp + " (default strict)";
}
