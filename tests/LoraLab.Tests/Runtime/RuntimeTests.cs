using LoraLab.Runtime;
using TorchSharp;
using Xunit;


namespace LoraLab.Tests;

public class RuntimeTests
{
    [Fact]
    public void TorchSharpLoadsAndComputes()
    {
        TorchRuntime.EnsureLoaded();
        using var a = torch.ones(64, 64);
        using var c = a.matmul(a);
        Assert.Equal(64f, c[0, 0].item<float>());
    }

    /// Without a reference the heap is trimmed; with one, only after the resident memory no live block holds grew by
    /// more than 1/32 of the resident set past it: steady-state steps keep their freed blocks mapped.
    [Theory]
    [InlineData(1000L << 20, 300L << 20, 0L, true)]
    [InlineData(1000L << 20, 300L << 20, 300L << 20, false)]
    [InlineData(1400L << 20, 331L << 20, 300L << 20, false)]   // more live memory, the same slack
    [InlineData(1000L << 20, 332L << 20, 300L << 20, true)]
    [InlineData(1000L << 20, 200L << 20, 300L << 20, false)]
    public void HeapIsTrimmedOnlyWhenFreedMemoryGrew(long rss, long slack, long baseSlack, bool expected) =>
        Assert.Equal(expected, NativeHeap.ShouldTrim(rss, slack, baseSlack));

    /// The build step patches the copy beside the app exactly when the system's libstdc++ lacks GLIBCXX_3.4.32 and
    /// leaves the requirement strong otherwise; the environment report says which. Checked on the file on every machine.
    [Fact]
    public void CompatibilityStepPatchesTheOutputCopyExactlyWhenTheSystemNeedsIt()
    {
        var path = TorchRuntime.NativeLibraryPath;
        Assert.True(path != null, "libLibTorchSharp.so is copied beside the test binaries by the build");
        int strong = TorchSharpElfPatch.CountStrong(File.ReadAllBytes(path!), TorchSharpElfPatch.Needed);
        if (TorchSharpElfPatch.SystemLibStdCxxHas(TorchSharpElfPatch.Needed))
            Assert.Equal((1, "not needed (system libstdc++ has GLIBCXX_3.4.32)"), (strong, TorchRuntime.CompatStatus()));
        else
            Assert.Equal((0, "applied (GLIBCXX_3.4.32 marked weak)"), (strong, TorchRuntime.CompatStatus()));
    }
}

/// Reads process-wide allocator counters, so it runs alone (other tests allocating at the same time would move them).
[CollectionDefinition("native heap", DisableParallelization = true)]
public class NativeHeapCollection { }

[Collection("native heap")]
public class NativeHeapTests
{
    /// The trim decision reads glibc's count of live heap bytes: a 256 MB tensor shows up in it and leaves it again
    /// (this checks the mallinfo2 struct layout the decision depends on; the margin absorbs the runtime's own blocks).
    [Fact]
    public void LiveHeapBytesFollowTensorAllocations()
    {
        TorchRuntime.EnsureLoaded();
        long before = NativeHeap.LiveHeapBytes() ?? throw new Xunit.Sdk.XunitException("mallinfo2 unavailable");
        var t = torch.empty(64L << 20, dtype: torch.ScalarType.Float32);
        long held = NativeHeap.LiveHeapBytes()!.Value;
        t.Dispose();
        long after = NativeHeap.LiveHeapBytes()!.Value;
        Assert.InRange(held - before, 248L << 20, 264L << 20);
        Assert.InRange(held - after, 248L << 20, 264L << 20);
        NativeHeap.TrimIfGrown();
    }
}

public class ElfPatchTests
{
    static string? PristineLibrary()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                   ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var p = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        return File.Exists(p) ? p : null;
    }

    [Fact]
    public void MarksOnlyTheOneRequirementWeakAndIsIdempotent()
    {
        var path = PristineLibrary();
        Assert.True(path != null, "TorchSharp's package is restored before the tests build, so its native library must be in the NuGet cache");
        var original = File.ReadAllBytes(path!);
        Assert.Equal(1, TorchSharpElfPatch.CountStrong(original, TorchSharpElfPatch.Needed)); // the cache copy stays pristine
        var copy = (byte[])original.Clone();
        Assert.Equal(1, TorchSharpElfPatch.MarkWeak(copy, TorchSharpElfPatch.Needed));
        Assert.Equal(0, TorchSharpElfPatch.CountStrong(copy, TorchSharpElfPatch.Needed));
        Assert.Equal(0, TorchSharpElfPatch.MarkWeak(copy, TorchSharpElfPatch.Needed));
        Assert.Equal(1, original.Zip(copy).Count(p => p.First != p.Second)); // one flags byte changed, nothing else
    }

    [Fact]
    public void LeavesNonElfFilesAlone()
    {
        var junk = new byte[128];
        Assert.Equal(-1, TorchSharpElfPatch.MarkWeak(junk, TorchSharpElfPatch.Needed));
        Assert.All(junk, b => Assert.Equal(0, b));
    }
}
