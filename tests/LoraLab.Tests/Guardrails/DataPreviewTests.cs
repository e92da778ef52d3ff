using LoraLab.Cli.Commands;
using LoraLab.Data;
using LoraLab.Tests.Cli;
using LoraLab.Tests.Fakes;
using Xunit;
using static LoraLab.Tests.Fakes.CharTokenizer;

namespace LoraLab.Tests.Guardrails;

/// `loralab data preview` and the checks behind it: role runs, doubled BOS, missing stop token, empty responses,
/// truncation and dropping.
[Collection("cli")]
public class DataPreviewTests
{
    const int I = LoraLab.Data.Labels.Ignore;

    static ExampleBuilder Builder(string template = "alpaca", ExampleBuilderOptions? o = null) =>
        new(new CharTokenizer(), PromptTemplate.Get(template), o);

    static int[] Bytes(string s) => System.Text.Encoding.UTF8.GetBytes(s).Select(b => b + ByteOffset).ToArray();

    [Fact]
    public void ACleanExampleSplitsIntoMaskedPromptAndTrainedResponseWithoutWarnings()
    {
        var p = DataPreview.Inspect(Builder(), new AlpacaRecord("r", "Say hi.", "", "Hi!"));
        Assert.Empty(p.Warnings);
        Assert.Equal(2, p.Runs.Count);
        Assert.False(p.Runs[0].Trained);
        Assert.Equal(Bos, p.Runs[0].Ids[0]);
        Assert.True(p.Runs[1].Trained);
        Assert.Equal([.. Bytes("Hi!"), Eos], p.Runs[1].Ids);
        Assert.Equal(4, p.Targets);
    }

    [Fact]
    public void DoubledBosAndMissingStopTokenAreReported()
    {
        var p = DataPreview.Inspect(Builder("plain"), new TokenizedRecord("r", [Bos, Bos, .. Bytes("abc")], null));
        Assert.Contains(p.Warnings, w => w.StartsWith("doubled BOS"));
        Assert.Contains(p.Warnings, w => w.StartsWith("missing stop token") && w.Contains("'c'"));
    }

    [Fact]
    public void FullyMaskedAndEmptyResponsesAreReported()
    {
        var ids = Bytes("abc");
        var masked = DataPreview.Inspect(Builder("plain"), new TokenizedRecord("r", ids, ids.Select(_ => I).ToArray()));
        Assert.Contains(masked.Warnings, w => w.StartsWith("no token is trained"));
        var empty = DataPreview.Inspect(Builder(), new AlpacaRecord("r", "Say hi.", "", ""));
        Assert.Contains(empty.Warnings, w => w.StartsWith("empty response"));
    }

    [Fact]
    public void LongExamplesAreShownTruncatedOrReportedDropped()
    {
        var record = new AlpacaRecord("r", "Say hi.", "", new string('x', 200));
        int full = Builder().Encode(record).Length;
        var cut = DataPreview.Inspect(Builder(o: new ExampleBuilderOptions { MaxSeqLength = full - 50 }), record);
        Assert.True(cut.Truncated);
        Assert.Equal(full - 50, cut.Tokens);
        Assert.Equal(full, cut.FullLength);
        Assert.Contains(cut.Warnings, w => w.Contains("would be truncated (50 of 201 target tokens lost)"));
        Assert.Equal(Eos, cut.Runs[^1].Ids[^1]);   // the stop token survives the cut

        var drop = DataPreview.Inspect(Builder(o: new ExampleBuilderOptions { MaxSeqLength = full - 50, LongExamples = LongExamplePolicy.Drop }), record);
        Assert.True(drop.Dropped);
        Assert.Contains(drop.Warnings, w => w.Contains("would be dropped"));
    }

    [Fact]
    public void MarkupColoursRolesOrMarksThemWithoutColour()
    {
        var tok = new CharTokenizer();
        var p = DataPreview.Inspect(Builder(), new AlpacaRecord("r", "Say hi.", "", "Hi [there]!"));
        var coloured = ExampleMarkup.Render(p, tok, colour: true);
        Assert.StartsWith("[grey]<s>Below is an instruction", coloured);
        Assert.EndsWith("[green]Hi [[there]]!</s>[/]", coloured);
        var plain = ExampleMarkup.Render(p, tok, colour: false);
        Assert.EndsWith("### Response:«Hi [[there]]!</s>»", plain);
    }

    [SharedFact(SharedFixtures.Llama2Tokenizer)]
    public void PreviewCommandPrintsMarkedExamplesCountsAndWarnings()
    {
        var model = TempDir.New();
        File.Copy(SharedFixtures.Path_("fixtures", "llama2-tokenizer", "tokenizer.model"), Path.Combine(model, "tokenizer.model"));
        var data = Path.Combine(TempDir.New(), "mixed.jsonl");
        File.WriteAllLines(data,
        [
            "{\"instruction\": \"Say hi\", \"input\": \"\", \"output\": \"Hi there!\"}",
            "{\"instruction\": \"Write a long story\", \"input\": \"\", \"output\": \"" + string.Join(" ", Enumerable.Repeat("once upon a time", 40)) + "\"}",
        ]);
        var (code, stdout, err) = CliRunner.Run("data", "preview", "--model", model, "--data", data, "-n", "2", "--max-seq-length", "64");
        Assert.True(code == 0, err);
        Assert.Contains("template alpaca", stdout);
        Assert.Contains("### Response:«Hi there!</s>»", stdout);
        Assert.Contains("tokens 42 · trained 4", stdout);
        Assert.Contains("would be truncated", stdout);
        Assert.Contains("1 examples would be truncated and 0 dropped", stdout);

        var ids = Path.Combine(TempDir.New(), "ids.jsonl");
        File.WriteAllText(ids, "{\"input_ids\": [1, 1, 450, 4996, 17354]}\n");
        (code, stdout, err) = CliRunner.Run("data", "preview", "--model", model, "--data", ids, "--template", "plain");
        Assert.True(code == 0, err);
        Assert.Contains("doubled BOS", stdout);
        Assert.Contains("missing stop token", stdout);
    }
}
