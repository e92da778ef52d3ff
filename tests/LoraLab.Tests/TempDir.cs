using System.Diagnostics;

namespace LoraLab.Tests;

/// The one way a test gets a fresh scratch folder. Every folder lives under a root of this test process
/// (`<temp>/loralab-tests-<pid>-<id>/`), and the whole root is deleted when the process exits, so folders a test
/// forgets (or cannot delete while it runs) do not pile up; a root left behind by a test process that was killed (or
/// cut short by the test runner) is swept the next time the tests run. A test or class that wants its folder gone sooner deletes it itself.
static class TempDir
{
    const string RootPrefix = "loralab-tests-";
    static readonly Lazy<string> Root = new(CreateRoot, LazyThreadSafetyMode.ExecutionAndPublication);

    /// A new, empty folder; `tag` only makes its name easier to recognise.
    public static string New(string tag = "test")
    {
        var dir = Path.Combine(Root.Value, $"{tag}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    static string CreateRoot()
    {
        SweepAbandonedRoots();
        var root = Path.Combine(Path.GetTempPath(), $"{RootPrefix}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        return root;
    }

    /// Deletes the roots of test processes that are gone (killed before their exit handler ran).
    static void SweepAbandonedRoots()
    {
        try
        {
            foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), RootPrefix + "*"))
            {
                var rest = Path.GetFileName(dir)[RootPrefix.Length..];
                var dash = rest.IndexOf('-');
                if (dash <= 0 || !int.TryParse(rest[..dash], out var pid) || IsAlive(pid)) continue;
                TryDelete(dir);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    static bool IsAlive(int pid)
    {
        try { using var p = Process.GetProcessById(pid); return !p.HasExited; }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
