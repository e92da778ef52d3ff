using LoraLab.Training;
using Xunit;

namespace LoraLab.Tests.Training;

public class AtomicDirectoryTests
{
    /// A write killed between its two renames left the finished temporary and the old copy, and no target: the
    /// temporary takes the target's place. Other leftovers of the names it writes go; anything else in the folder stays.
    [Fact]
    public void RecoverFinishesAWriteKilledBetweenItsRenamesAndRemovesOtherLeftovers()
    {
        var dir = TempDir.New("atomic");
        void Make(string name, string text) { Directory.CreateDirectory(Path.Combine(dir, name)); File.WriteAllText(Path.Combine(dir, name, "f"), text); }
        Make(".adapter.tmp-41", "new");
        Make("adapter.old-41", "old");
        Make(".step-000002.tmp-7", "half");
        Make("step-000001", "kept");
        Make("notes.old-3", "user's");
        File.WriteAllText(Path.Combine(dir, ".metrics.jsonl.tmp-9"), "half");
        AtomicDirectory.Recover(dir, n => n is "adapter" or "metrics.jsonl" || n.StartsWith("step-"));
        Assert.Equal(new[] { "adapter", "notes.old-3", "step-000001" }, Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).Order());
        Assert.Equal("new", File.ReadAllText(Path.Combine(dir, "adapter", "f")));
    }
}
