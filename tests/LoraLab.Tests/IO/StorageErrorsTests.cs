using LoraLab.IO;
using LoraLab.Tests.Cli;
using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.IO;

/// The mapping from .NET's I/O exceptions (errno in HResult on Unix) to messages that say what to do.
public class StorageErrorsTests
{
    [Fact]
    public void FullDiskReadOnlyAndDeniedNameThePathFromTheMessage()
    {
        var full = StorageErrors.From(new IOException("No space left on device : '/runs/a/metrics.jsonl'", 28));
        Assert.Equal("no space left on device while writing /runs/a/metrics.jsonl; free some space or choose another folder", full!.Message);
        var ro = StorageErrors.From(new IOException("Read-only file system : '/mnt/ro/run'", 30));
        Assert.Equal("/mnt/ro/run: read-only file system; choose a folder on a writable file system", ro!.Message);
        var denied = StorageErrors.From(new UnauthorizedAccessException("Access to the path '/etc/run' is denied."));
        Assert.Equal("/etc/run: permission denied; check its permissions or choose another folder", denied!.Message);
        Assert.Null(StorageErrors.From(new IOException("Input/output error : '/x'", 5)));
        Assert.Null(StorageErrors.From(new InvalidOperationException("a bug")));
    }

    [Fact]
    public void AFileInThePathIsNamed()
    {
        var file = Path.Combine(TempDir.New(), "notes.txt");
        File.WriteAllText(file, "x");
        var under = Path.Combine(file, "run", "metrics.jsonl");
        var e = Assert.Throws<DirectoryNotFoundException>(() => File.WriteAllText(under, "{}"));
        Assert.Equal($"{under}: {file} is a file, not a folder; choose another path", StorageErrors.From(e)!.Message);
    }

    [Fact]
    public void AFailedAtomicWriteLeavesThePreviousFolderAndNoTemporaryOne()
    {
        var parent = TempDir.New();
        var target = Path.Combine(parent, "step-000002");
        AtomicDirectory.Write(target, d => File.WriteAllText(Path.Combine(d, "a.txt"), "old"));
        var e = Assert.Throws<StorageException>(() => AtomicDirectory.Write(target, d =>
        {
            File.WriteAllText(Path.Combine(d, "a.txt"), "half");
            throw new IOException($"No space left on device : '{Path.Combine(d, "optimizer.bin")}'", 28);
        }));
        Assert.Equal($"no space left on device while writing {Path.Combine(target, "optimizer.bin")}; free some space or choose another folder", e.Message);
        Assert.Equal(new[] { target }, Directory.GetFileSystemEntries(parent));
        Assert.Equal("old", File.ReadAllText(Path.Combine(target, "a.txt")));
    }
}
