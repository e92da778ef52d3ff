using System.Text.Json;
using Xunit;

namespace LoraLab.Tests.Cli;

/// `loralab eval` and `generate` on the reference fixture, and the one-line errors for broken model folders.
[Collection("cli")]
public class FoundationCliTests
{
    static string Tiny => RepoFixtures.Path_("tiny-llama");

    static string GoldenJsonl()
    {
        var golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(Tiny, "golden.json"))).RootElement;
        var path = Path.Combine(TempDir.New(), "golden.jsonl");
        File.WriteAllLines(path, golden.GetProperty("input_ids").EnumerateArray()
            .Select(r => JsonSerializer.Serialize(new { input_ids = r.EnumerateArray().Select(e => e.GetInt32()).ToArray() })));
        return path;
    }

    [Fact]
    public void EvalJsonGivesTheReferenceLoss()
    {
        var (code, stdout, err) = CliRunner.Run("eval", "--model", Tiny, "--data", GoldenJsonl(), "--json");
        Assert.True(code == 0, err);
        var r = JsonDocument.Parse(stdout.Trim()).RootElement; // exactly one JSON object on stdout
        var golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(Tiny, "golden.json"))).RootElement;
        Assert.Equal(golden.GetProperty("loss").GetDouble(), r.GetProperty("loss").GetDouble(), 1e-4);
        Assert.Equal(64, r.GetProperty("tokens").GetInt64());
        Assert.Equal(Math.Exp(r.GetProperty("loss").GetDouble()), r.GetProperty("perplexity").GetDouble(), 1e-6);
    }

    [Fact]
    public void GreedyGenerationIsIdenticalTwice()
    {
        var a = CliRunner.Run("generate", "--model", Tiny, "--prompt-ids", "1,45,300,7", "--max-new-tokens", "16");
        var b = CliRunner.Run("generate", "--model", Tiny, "--prompt-ids", "1,45,300,7", "--max-new-tokens", "16");
        Assert.Equal(0, a.Code);
        Assert.Equal(a.Out, b.Out);
        Assert.True(a.Out.Trim().Split(' ').Length >= 1);
    }

    static string CopyOfTiny()
    {
        var dir = TempDir.New();
        foreach (var f in Directory.GetFiles(Tiny)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }

    static void ExpectOneLineError(string modelDir, string expected)
    {
        var (code, _, err) = CliRunner.Run("eval", "--model", modelDir, "--data", GoldenJsonl(), "--json");
        Assert.NotEqual(0, code);
        Assert.Contains(expected, err);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void TruncatedSafetensorsIsAOneLineError()
    {
        var dir = CopyOfTiny();
        var file = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..(bytes.Length / 2)]);
        ExpectOneLineError(dir, "model.safetensors");
    }

    [Fact]
    public void UnknownModelTypeIsAOneLineError()
    {
        var dir = CopyOfTiny();
        var cfg = Path.Combine(dir, "config.json");
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("\"llama\"", "\"gpt2\""));
        ExpectOneLineError(dir, "unsupported model_type 'gpt2'");
    }

    [Fact]
    public void MissingModelFolderIsAOneLineError()
    {
        var (code, _, err) = CliRunner.Run("eval", "--model", "/nonexistent/model", "--data", "/nonexistent/data.jsonl");
        Assert.Equal(2, code);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void MissingTensorIsNamed()
    {
        var dir = CopyOfTiny();
        var cfg = Path.Combine(dir, "config.json");
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3"));
        ExpectOneLineError(dir, "model.layers.2.");
    }

    [Fact]
    public void PickleOnlyFolderIsRefused()
    {
        var dir = TempDir.New();
        File.Copy(Path.Combine(Tiny, "config.json"), Path.Combine(dir, "config.json"));
        File.WriteAllBytes(Path.Combine(dir, "pytorch_model.bin"), new byte[] { 0x80, 0x02 });
        ExpectOneLineError(dir, "safetensors");
    }
}
