using LoraLab.IO;
using LoraLab.Training;

namespace LoraLab.Cli.Commands;

/// A run that fails before its first checkpoint leaves --out as it found it, so the same command can simply be run
/// again: what it created is removed (the folder too, if it made it), the run files it rewrote get their old text,
/// and what it set aside (an earlier run's checkpoints and final weights) is put back. Set-aside entries wait in
/// RUN/.set-aside-PID until the run's first checkpoint makes them garbage; a killed run's are removed at the next start.
public sealed class RunFolderUndo
{
    static readonly string[] Rewritten = { RunFolder.RunYaml, RunFolder.Metrics, RunFolder.Validation };
    const string AsidePrefix = ".set-aside-";

    readonly OutputFolderLock _held;
    readonly string _dir;
    readonly bool _existed;
    readonly string _aside;
    readonly HashSet<string> _entries = new();
    readonly Dictionary<string, byte[]> _files = new();
    readonly List<string> _setAside = new();

    /// Call once the folder is held and recovered (no other writer, no half-done write in it); `existed`: whether
    /// it was there before the claim.
    public RunFolderUndo(OutputFolderLock held, bool existed)
    {
        _held = held; _dir = held.Folder; _existed = existed;
        _aside = Path.Combine(_dir, AsidePrefix + Environment.ProcessId);
        if (!existed) return;
        foreach (var stale in Directory.GetDirectories(_dir, AsidePrefix + "*")) Directory.Delete(stale, true);
        foreach (var e in Directory.EnumerateFileSystemEntries(_dir)) _entries.Add(Path.GetFileName(e));
        foreach (var name in Rewritten)
            if (File.Exists(Path.Combine(_dir, name))) _files[name] = File.ReadAllBytes(Path.Combine(_dir, name));
    }

    /// Takes `path` (inside the folder) out of the run's way: a failed run puts it back, a checkpoint drops it.
    public void SetAside(string path)
    {
        if (!Directory.Exists(path) && !File.Exists(path)) return;
        var rel = Path.GetRelativePath(_dir, path);
        var to = Path.Combine(_aside, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        Directory.Move(path, to);
        _setAside.Add(rel);
    }

    /// The run got past its first checkpoint: what was set aside is no longer needed to restore the folder.
    public void Discard()
    {
        try { if (Directory.Exists(_aside)) Directory.Delete(_aside, true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // the next start removes it
    }

    /// Best effort: an I/O error here must not hide the failure that made the run stop.
    public void Restore()
    {
        try { Undo(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    void Undo()
    {
        if (!Directory.Exists(_dir)) return;
        if (!_existed) { _held.DeleteFolder(); return; }
        foreach (var rel in Enumerable.Reverse(_setAside))
        {
            var back = Path.Combine(_dir, rel);
            if (Directory.Exists(back)) Directory.Delete(back, true);
            else if (File.Exists(back)) File.Delete(back);
            Directory.Move(Path.Combine(_aside, rel), back);
        }
        foreach (var e in Directory.EnumerateFileSystemEntries(_dir).ToList())
        {
            if (_entries.Contains(Path.GetFileName(e))) continue;
            if (Directory.Exists(e)) Directory.Delete(e, true);
            else File.Delete(e);
        }
        foreach (var (name, bytes) in _files) File.WriteAllBytes(Path.Combine(_dir, name), bytes);
    }
}
