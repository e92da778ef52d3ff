using LoraLab.IO;
using LoraLab.Tests.Cli;
using Xunit;

namespace LoraLab.Tests.IO;

public class OutputFolderLockTests
{
    [Fact]
    public void ASecondLockInTheSameProcessIsRefusedWithThisPidAndFreedOnDispose()
    {
        var dir = TempDir.New();
        using (var first = OutputFolderLock.Acquire(dir))
        {
            var e = Assert.Throws<UserException>(() => OutputFolderLock.Acquire(dir));
            Assert.Equal($"--out {dir}: in use by another loralab process (PID {Environment.ProcessId}); wait for it to finish or choose another --out", e.Message);
            // the lock files do not make the folder "not empty"
            Assert.True(OutputFolder.IsEmpty(dir));
            Assert.Throws<UserException>(() => OutputFolder.Claim(dir, overwrite: true, []));
        }
        Assert.Empty(Directory.GetFileSystemEntries(dir));
        using var again = OutputFolder.Claim(dir, overwrite: false, []);
    }

    [Fact]
    public void ALockFileLeftByAKilledProcessDoesNotBlock()
    {
        var dir = TempDir.New();
        File.WriteAllText(Path.Combine(dir, OutputFolderLock.LockFile), "");
        File.WriteAllText(Path.Combine(dir, OutputFolderLock.PidFile), "999999\n");
        using var held = OutputFolder.Claim(dir, overwrite: false, []);
        Assert.Equal($"{Environment.ProcessId}", File.ReadAllText(Path.Combine(dir, OutputFolderLock.PidFile)).Trim());
    }

    [Fact]
    public void ANonEmptyFolderNeedsOverwrite()
    {
        var dir = TempDir.New();
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "mine");
        var e = Assert.Throws<UserException>(() => OutputFolder.Claim(dir, overwrite: false, []));
        Assert.Contains("not empty (pass --overwrite", e.Message);
        using var held = OutputFolder.Claim(dir, overwrite: true, []); // the refusal let go of its lock
    }

    [Fact]
    public void SymlinksAreResolvedBeforeOutIsComparedWithTheInputs()
    {
        var root = TempDir.New();
        var model = Directory.CreateDirectory(Path.Combine(root, "models", "base")).FullName;
        Directory.CreateSymbolicLink(Path.Combine(root, "m"), "models");           // relative link
        Directory.CreateSymbolicLink(Path.Combine(root, "b"), Path.Combine(root, "m", "base")); // link through a link
        Assert.Equal(model, RealPath.Of(Path.Combine(root, "b")));
        Assert.Equal(Path.Combine(model, "new", "x"), RealPath.Of(Path.Combine(root, "b", "new", "x")));

        var e = Assert.Throws<UserException>(() => OutputFolder.CheckApartFromInputs(Path.Combine(root, "b"), [new("--model", model)]));
        Assert.Equal($"--out {Path.Combine(root, "b")}: is the --model folder {model}; writing there could overwrite or delete an input; choose another --out", e.Message);
        e = Assert.Throws<UserException>(() => OutputFolder.CheckApartFromInputs(Path.Combine(root, "m"), [new("--model", model)]));
        Assert.Contains("holds the --model folder", e.Message);
        OutputFolder.CheckApartFromInputs(Path.Combine(root, "models-2"), [new("--model", model)]); // a prefix is not a parent
    }
}
