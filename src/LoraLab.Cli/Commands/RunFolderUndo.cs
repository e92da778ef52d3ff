namespace LoraLab.Cli.Commands;

/// A run that fails before its first checkpoint leaves --out as it found it, so the same command can simply be run
/// again: what it created is removed (the folder too, if it made it) and the run files it rewrote get their old text.
public sealed class RunFolderUndo
{
    static readonly string[] Rewritten = { "run.yaml", "metrics.jsonl", "val.jsonl" };

    readonly string _dir;
    readonly bool _existed;
    readonly HashSet<string> _entries = new();
    readonly Dictionary<string, byte[]> _files = new();

    /// Call once the folder is held (after OutputFolder.Prepare); `existed`: whether it was there before that.
    public RunFolderUndo(string dir, bool existed)
    {
        _dir = dir; _existed = existed;
        if (!existed) return;
        foreach (var e in Directory.EnumerateFileSystemEntries(dir)) _entries.Add(Path.GetFileName(e));
        foreach (var name in Rewritten)
            if (File.Exists(Path.Combine(dir, name))) _files[name] = File.ReadAllBytes(Path.Combine(dir, name));
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
        if (!_existed) { Directory.Delete(_dir, true); return; }
        foreach (var e in Directory.EnumerateFileSystemEntries(_dir).ToList())
        {
            if (_entries.Contains(Path.GetFileName(e))) continue;
            if (Directory.Exists(e)) Directory.Delete(e, true);
            else File.Delete(e);
        }
        foreach (var (name, bytes) in _files) File.WriteAllBytes(Path.Combine(_dir, name), bytes);
    }
}
