using LoraLab.Cli.Commands;
using Xunit;

namespace LoraLab.Tests.Hub;

/// `download --local-dir`: plain copies of a snapshot's linked files; a differing file is replaced only with --overwrite.
public class LocalCopyTests : ScratchFolderTest
{
    public LocalCopyTests() : base("localcopy") { }

    string Snapshot()
    {
        var blobs = Directory.CreateDirectory(Path.Combine(_dir, "blobs")).FullName;
        var snap = Directory.CreateDirectory(Path.Combine(_dir, "snap")).FullName;
        File.WriteAllText(Path.Combine(blobs, "a"), "{\"config\": 1}");
        File.WriteAllText(Path.Combine(blobs, "b"), "weights");
        File.CreateSymbolicLink(Path.Combine(snap, "config.json"), Path.Combine("..", "blobs", "a"));
        File.CreateSymbolicLink(Path.Combine(snap, "model.safetensors"), Path.Combine("..", "blobs", "b"));
        return snap;
    }

    [Fact]
    public void Copies_plain_files_keeps_others_and_refuses_a_differing_one_without_overwrite()
    {
        var snap = Snapshot();
        var local = Path.Combine(_dir, "local");
        Directory.CreateDirectory(local);
        File.WriteAllText(Path.Combine(local, "notes.txt"), "mine");
        Assert.Equal(local, LocalCopy.Write(snap, ["*.json"], local, overwrite: false));
        Assert.Null(new FileInfo(Path.Combine(local, "config.json")).LinkTarget);
        Assert.Equal("{\"config\": 1}", File.ReadAllText(Path.Combine(local, "config.json")));
        Assert.False(File.Exists(Path.Combine(local, "model.safetensors")));   // not included
        LocalCopy.Write(snap, null, local, overwrite: false);                   // the same config.json again: no conflict
        Assert.Equal("weights", File.ReadAllText(Path.Combine(local, "model.safetensors")));

        File.WriteAllText(Path.Combine(local, "config.json"), "edited");
        var e = Assert.Throws<UserException>(() => LocalCopy.Write(snap, null, local, overwrite: false));
        Assert.Contains("config.json already there with other contents (pass --overwrite", e.Message);
        Assert.Equal("edited", File.ReadAllText(Path.Combine(local, "config.json")));
        LocalCopy.Write(snap, null, local, overwrite: true);
        Assert.Equal("{\"config\": 1}", File.ReadAllText(Path.Combine(local, "config.json")));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(local, "notes.txt")));
        Assert.Empty(Directory.GetFiles(local, "*.tmp", SearchOption.AllDirectories));
    }
}
