using System.Diagnostics;
using Xunit;

namespace LoraLab.Tests.IO;

/// A small tmpfs of its own, to meet a full disk or a read-only file system for real. Mounting needs root (or
/// CAP_SYS_ADMIN); where that is refused the tests that need it are skipped with the reason.
sealed class Tmpfs : IDisposable
{
    public string Path { get; }

    Tmpfs(string path) => Path = path;

    public static Tmpfs Mount(string size)
    {
        var dir = TempDir.New("tmpfs");
        var (rc, err) = Sh("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", dir);
        if (rc != 0) { Directory.Delete(dir); throw new InvalidOperationException($"mount -t tmpfs failed: {err}"); }
        return new Tmpfs(dir);
    }

    /// Room freed: the file system grows to `size`.
    public void Resize(string size)
    {
        var (rc, err) = Sh("mount", "-o", $"remount,size={size}", Path);
        if (rc != 0) throw new InvalidOperationException($"remount size failed: {err}");
    }

    public void MakeReadOnly()
    {
        var (rc, err) = Sh("mount", "-o", "remount,ro", Path);
        if (rc != 0) throw new InvalidOperationException($"remount ro failed: {err}");
    }

    public void Dispose()
    {
        Sh("umount", "-l", Path);
        try { Directory.Delete(Path); } catch (IOException) { }
    }

    /// Null when a tmpfs can be mounted here, else why not.
    public static readonly Lazy<string?> Unavailable = new(() =>
    {
        if (!OperatingSystem.IsLinux()) return "needs Linux tmpfs";
        try { using var t = Mount("64k"); return null; }
        catch (Exception e) { return $"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {e.Message.Trim()}"; }
    });

    static (int, string) Sh(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, err);
        }
        catch (System.ComponentModel.Win32Exception e) { return (-1, e.Message); }
    }
}

/// A fact that needs a tmpfs of its own: skipped, with the reason, where mounting one is refused.
public sealed class TmpfsFactAttribute : FactAttribute
{
    public TmpfsFactAttribute()
    {
        if (Tmpfs.Unavailable.Value is { } why) Skip = why;
    }
}
