using LoraLab.Tests.Cli;
using Xunit;

namespace LoraLab.Tests.IO;

/// A damaged checkpoint file on resume is named as such, with what to do, and its bytes are never printed.
[Collection("cli")]
public class CheckpointCorruptionTests
{
    static readonly Lazy<string> Trained = new(() =>
    {
        var run = Path.Combine(CliHarness.TempDir(), "run");
        var (code, _, err) = CliHarness.Run(DemoRuns.Train(run, "--max-steps", "2", "--save-every", "1"));
        Assert.True(code == 0, err);
        return run;
    });

    [Theory]
    [InlineData("optimizer.bin", "truncate")]
    [InlineData("optimizer.bin", "garbage")]
    [InlineData("optimizer.bin", "empty")]
    [InlineData("optimizer.bin", "body")]
    [InlineData("trainer_state.json", "garbage")]
    [InlineData("trainer_state.json", "truncate")]
    public void ResumeFromADamagedFileNamesItAndPrintsNoBytes(string file, string damage)
    {
        var run = Path.Combine(CliHarness.TempDir(), "run");
        CopyTree(Trained.Value, run);
        var checkpoint = Path.Combine(run, "checkpoints", "step-000001");
        var path = Path.Combine(checkpoint, file);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, damage switch
        {
            "truncate" => bytes[..(bytes.Length / 2)],
            "empty" => [],
            "body" => [.. bytes[..70], .. Garbage(bytes.Length - 70)], // the right header and length, then noise
            _ => Garbage(bytes.Length),
        });

        var (code, _, err) = CliHarness.Run(DemoRuns.Train(run, "--max-steps", "2", "--save-every", "1", "--resume", checkpoint));
        Assert.True(code == 2, $"exit {code}: {err}");
        Assert.Contains($"{path}: truncated or corrupt checkpoint file (", err);
        Assert.Contains("resume from an earlier checkpoint", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.All(err.Trim(), c => Assert.True(c >= ' ' && c < 0x7f, $"non-printable U+{(int)c:X4} in: {err}"));
    }

    static byte[] Garbage(int n)
    {
        var b = new byte[n];
        new Random(3).NextBytes(b);
        return b;
    }

    static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var d in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, d)));
        foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(f, Path.Combine(to, Path.GetRelativePath(from, f)));
    }
}
