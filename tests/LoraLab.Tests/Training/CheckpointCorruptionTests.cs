using LoraLab.Tests.Cli;
using Xunit;

namespace LoraLab.Tests.IO;

/// A damaged checkpoint file on resume is named as such, with what to do, and its bytes are never printed.
[Collection("cli")]
public class CheckpointCorruptionTests
{
    /// A two-step demo run per optimizer, a checkpoint after each step (SGD with momentum: its state grows buffers
    /// on the first step, so a checkpoint holds more than a new optimizer's state).
    static readonly Dictionary<string, Lazy<string>> Trained = new[] { "adamw", "sgd" }.ToDictionary(o => o, o => new Lazy<string>(() =>
    {
        var run = Path.Combine(TempDir.New(), "run");
        var (code, _, err) = CliRunner.Run(DemoRuns.Train(run, "--max-steps", "2", "--save-every", "1", "--optimizer", o, "--momentum", "0.9"));
        Assert.True(code == 0, err);
        return run;
    }));

    /// A trainer_state.json that is a link to /dev/zero reports a length of 0 and never ends: refused before it is read.
    [Fact]
    public void ATrainerStateLinkedToAnEndlessDeviceIsRefusedBeforeItIsRead()
    {
        var dir = TempDir.New();
        File.CreateSymbolicLink(Path.Combine(dir, LoraLab.Training.TrainerState.FileName), "/dev/zero");
        var e = Assert.Throws<UserException>(() => LoraLab.Training.TrainerState.Load(dir));
        Assert.Contains("not a regular file", e.Message);
    }

    [Theory]
    [InlineData("adamw")]
    [InlineData("sgd")]
    public void AnUndamagedCheckpointResumes(string optimizer)
    {
        var run = Path.Combine(TempDir.New(), "run");
        CopyTree(Trained[optimizer].Value, run);
        var (code, stdout, err) = CliRunner.Run("train", "--resume", Path.Combine(run, "checkpoints", "step-000001"));
        Assert.True(code == 0, $"exit {code}: {err}");
        Assert.Contains("resumed from", stdout);
    }

    [Theory]
    [InlineData("adamw", "optimizer.bin", "truncate")]
    [InlineData("adamw", "optimizer.bin", "garbage")]
    [InlineData("adamw", "optimizer.bin", "empty")]
    [InlineData("adamw", "optimizer.bin", "body")]
    [InlineData("adamw", "optimizer.bin", "longer")]
    [InlineData("sgd", "optimizer.bin", "truncate")]
    [InlineData("sgd", "optimizer.bin", "body")]
    [InlineData("sgd", "optimizer.bin", "longer")]
    [InlineData("adamw", "trainer_state.json", "garbage")]
    [InlineData("adamw", "trainer_state.json", "truncate")]
    public void ResumeFromADamagedFileNamesItAndPrintsNoBytes(string optimizer, string file, string damage)
    {
        var run = Path.Combine(TempDir.New(), "run");
        CopyTree(Trained[optimizer].Value, run);
        var checkpoint = Path.Combine(run, "checkpoints", "step-000001");
        var path = Path.Combine(checkpoint, file);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, damage switch
        {
            "truncate" => bytes[..(bytes.Length / 2)],
            "empty" => [],
            "body" => [.. bytes[..70], .. Garbage(bytes.Length - 70)], // the right header and length, then noise
            "longer" => [.. bytes, .. Garbage(100)],                     // a whole state, then bytes that belong to none
            _ => Garbage(bytes.Length),
        });

        var (code, _, err) = CliRunner.Run("train", "--resume", checkpoint);
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
