namespace LoraLab.Training;

/// Writes a folder as a whole: fill a temporary sibling, then rename it into place, so a crash or an
/// interrupt never leaves a half-written checkpoint under the final name.
public static class AtomicDirectory
{
    public static void Write(string target, Action<string> fill)
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(target))!;
        Directory.CreateDirectory(parent);
        var tmp = Path.Combine(parent, "." + Path.GetFileName(target) + ".tmp-" + Environment.ProcessId);
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        try
        {
            fill(tmp);
            var old = target + ".old-" + Environment.ProcessId;
            if (Directory.Exists(target)) Directory.Move(target, old);
            Directory.Move(tmp, target);
            if (Directory.Exists(old)) Directory.Delete(old, true);
        }
        catch
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
            throw;
        }
    }

    /// What a killed Write leaves in `parent`: `.NAME.tmp-PID` (a temporary, complete only if the old copy was
    /// already moved aside) and `NAME.old-PID` (the previous copy). Where NAME itself is gone the write was between
    /// its two renames, so the finished temporary takes its place; every other leftover is removed. Call it only
    /// while holding the folder (no other writer can be mid-write).
    public static void Recover(string parent)
    {
        if (!Directory.Exists(parent)) return;
        foreach (var old in Directory.GetDirectories(parent))
        {
            var m = OldName.Match(Path.GetFileName(old));
            if (!m.Success) continue;
            var target = Path.Combine(parent, m.Groups[1].Value);
            var tmp = Path.Combine(parent, "." + m.Groups[1].Value + ".tmp-" + m.Groups[2].Value);
            if (!Directory.Exists(target)) Directory.Move(Directory.Exists(tmp) ? tmp : old, target);
        }
        foreach (var entry in Directory.EnumerateFileSystemEntries(parent).ToList())
        {
            var name = Path.GetFileName(entry);
            if (!TmpName.IsMatch(name) && !OldName.IsMatch(name)) continue;
            if (Directory.Exists(entry)) Directory.Delete(entry, true);
            else File.Delete(entry);
        }
    }

    static readonly System.Text.RegularExpressions.Regex TmpName = new(@"^\..+\.tmp-\d+$");
    static readonly System.Text.RegularExpressions.Regex OldName = new(@"^(.+)\.old-(\d+)$");
}
