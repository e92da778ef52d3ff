using System.Text;
using LoraLab.Data;
using LoraLab.Demo;
using LoraLab.Tests.Cli;
using Xunit;

namespace LoraLab.Tests.Inputs;

/// --max-record-bytes and --encoding-errors on train, eval and data preview.
[Collection("cli")]
public class DataFlagsCliTests
{
    static string DemoBase => Path.Combine(DemoAssets.Locate(), DemoAssets.BaseFolder);

    static string Latin1Alpaca()
    {
        var path = Path.Combine(TempDir.New(), "latin1.jsonl");
        var line = "{\"instruction\": \"Name the drink.\", \"input\": \"\", \"output\": \"caf\u00e9\"}\n";
        File.WriteAllBytes(path, Encoding.Latin1.GetBytes(line + line));
        return path;
    }

    [Fact]
    public void DataPreviewRefusesLatin1UnlessAskedToReplace()
    {
        var data = Latin1Alpaca();
        long offset = Encoding.Latin1.GetBytes("{\"instruction\": \"Name the drink.\", \"input\": \"\", \"output\": \"caf").Length;
        var (code, _, err) = CliRunner.Run("data", "preview", "--model", DemoBase, "--data", data);
        Assert.Equal(2, code);
        Assert.Equal($"error: {data}:1: invalid UTF-8 at byte {offset}; re-encode the file as UTF-8 or pass --encoding-errors replace", err.Trim());

        (code, _, err) = CliRunner.Run("data", "preview", "--model", DemoBase, "--data", data, "--encoding-errors", "replace");
        Assert.True(code == 0, err);
    }

    [Fact]
    public void EvalAndTrainHonourMaxRecordBytes()
    {
        var data = Path.Combine(TempDir.New(), "d.jsonl");
        File.WriteAllText(data, "{\"text\": \"" + new string('a', 3000) + "\"}\n");
        var (code, _, err) = CliRunner.Run("eval", "--model", DemoBase, "--data", data, "--max-record-bytes", "2000");
        Assert.Equal(2, code);
        Assert.StartsWith($"error: {data}:1: record is over the 2 KB limit (--max-record-bytes 2000)", err.Trim());

        (code, _, err) = CliRunner.Run("train", "--model", DemoBase, "--data", data, "--out", Path.Combine(TempDir.New(), "run"), "--max-record-bytes", "2000");
        Assert.Equal(2, code);
        Assert.StartsWith($"error: {data}:1: record is over the 2 KB limit", err.Trim());

        (code, _, err) = CliRunner.Run("train", "--model", DemoBase, "--data", data, "--out", Path.Combine(TempDir.New(), "run"), "--encoding-errors", "ignore");
        Assert.Equal(2, code);
        Assert.Equal("error: --encoding-errors: unknown value 'ignore' (strict or replace)", err.Trim());
    }

    [Fact]
    public void HelpStatesTheDefaultLimit()
    {
        foreach (var verb in new[] { new[] { "train" }, new[] { "data", "preview" }, new[] { "eval" } })
        {
            var (_, stdout, _) = CliRunner.RunProcess([.. verb, "--help"]); // help goes to the terminal, so a real process
            Assert.Contains("--max-record-bytes", stdout);
            // the DEFAULT column, filled from RunConfig for every verb that takes the setting
            Assert.Matches($@"--max-record-bytes <BYTES>\s+{DataReadOptions.DefaultMaxRecordBytes}\s", stdout);
            Assert.Contains("--encoding-errors", stdout);
        }
    }
}
