using LoraLab.Demo;
using LoraLab.Tests.Cli;
using Xunit;

namespace LoraLab.Tests.Inputs;

/// eval on instruction data without a template asks for one; "all examples dropped" names the file and the policy.
[Collection("cli")]
public class EvalDataMessagesTests
{
    static string DemoBase => Path.Combine(DemoAssets.Locate(), DemoAssets.BaseFolder);
    static string HeldOut => Path.Combine(DemoAssets.Locate(), DemoAssets.DataFolder, DemoAssets.HeldOutFile);
    const string Ask = "instruction and chat records are scored on their responses, which needs their prompt template: " +
        "pass --template NAME (alpaca, chatml, llama2-chat, llama3, plain) or --adapter DIR (an adapter trained by loralab records its template)";

    [Fact]
    public void EvalOnAnAlpacaArrayWithoutTemplateAsksForOne()
    {
        var (code, _, err) = CliRunner.Run("eval", "--model", DemoBase, "--data", HeldOut);
        Assert.Equal(2, code);
        Assert.Equal($"error: {HeldOut}:1: a JSON array (eval reads text and input_ids records as JSON Lines); {Ask}", err.Trim());

        (code, _, err) = CliRunner.Run("eval", "--model", DemoBase, "--data", HeldOut, "--template", "alpaca", "--json");
        Assert.True(code == 0, err);
    }

    [Fact]
    public void EvalOnAlpacaJsonLinesWithoutTemplateAsksForOne()
    {
        var data = Path.Combine(TempDir.New(), "heldout.jsonl");
        File.WriteAllText(data, "{\"text\": \"plain text is fine\"}\n{\"instruction\": \"Say hi.\", \"input\": \"\", \"output\": \"hi\"}\n");
        var (code, _, err) = CliRunner.Run("eval", "--model", DemoBase, "--data", data);
        Assert.Equal(2, code);
        Assert.Equal($"error: {data}:2: a record with 'instruction'; {Ask}", err.Trim());
    }

    [Fact]
    public void AllExamplesDroppedNamesTheFileAndThePolicy()
    {
        var outDir = Path.Combine(TempDir.New(), "run");
        var (code, _, err) = CliRunner.Run("train", "--model", DemoBase, "--data", HeldOut, "--out", outDir,
            "--max-seq-length", "8", "--long-examples", "drop", "--val-fraction", "0");
        Assert.Equal(2, code);
        Assert.Equal($"error: {HeldOut}: all 125 examples were dropped: each is longer than the maximum sequence length (8 tokens, --max-seq-length) " +
                     "and long examples are dropped (--long-examples drop); raise --max-seq-length or use --long-examples truncate", err.Trim());

        (code, _, err) = CliRunner.Run("train", "--model", DemoBase, "--data", HeldOut, "--out", outDir, "--max-seq-length", "8", "--val-fraction", "0");
        Assert.Equal(2, code);
        Assert.Equal($"error: {HeldOut}: all 125 examples were dropped: in each the prompt alone fills the maximum sequence length (8 tokens, --max-seq-length), " +
                     "so truncating (--long-examples truncate) would leave no response to learn; raise --max-seq-length", err.Trim());
    }
}
