using LoraLab.IO;

namespace LoraLab.Training;

/// Writes a folder as a whole: fill a temporary sibling, then rename it into place, so a crash, an interrupt or a
/// full disk never leaves a half-written checkpoint under the final name. On failure the temporary folder is
/// removed (freeing what a full disk took) and the previous folder of that name, if any, is back in place.
public static class AtomicDirectory
{
    /// `whatToDo` completes the message of a storage failure (a full disk: which checkpoint to resume from).
    public static void Write(string target, Action<string> fill, Func<string>? whatToDo = null)
    {
        var full = Path.GetFullPath(target);
        var parent = Path.GetDirectoryName(full)!;
        var tmp = TempName(full);
        try
        {
            Directory.CreateDirectory(parent);
            if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
            Directory.CreateDirectory(tmp);
            fill(tmp);
            var old = full + ".old-" + Environment.ProcessId;
            bool replacing = Directory.Exists(full);
            if (replacing) Directory.Move(full, old);
            try { Directory.Move(tmp, full); }
            catch
            {
                if (replacing) Directory.Move(old, full);
                throw;
            }
            if (replacing)
                try { Directory.Delete(old, true); }
                catch (IOException) { } // the new folder is in place; the old copy is only space
        }
        catch (Exception e)
        {
            try { if (Directory.Exists(tmp)) Directory.Delete(tmp, true); }
            catch (IOException) { } // the original failure matters more than a leftover the next run removes
            catch (UnauthorizedAccessException) { }
            // Named as the file under its final name: the temporary folder is gone.
            var named = StorageErrors.From(e, full) is { } s ? new StorageException(s.Problem, s.Path.Replace(tmp, full), whatToDo?.Invoke(), e) : null;
            if (named is not null) throw named;
            throw;
        }
    }

    /// The temporary sibling this process writes `fullPath` through (`.NAME.tmp-PID`), the name Recover knows; also
    /// for single files replaced whole (metrics.jsonl).
    public static string TempName(string fullPath) =>
        Path.Combine(Path.GetDirectoryName(fullPath)!, "." + Path.GetFileName(fullPath) + ".tmp-" + Environment.ProcessId);

    /// What a killed Write of a NAME that `ours` accepts leaves in `parent`: `.NAME.tmp-PID` (a temporary, complete
    /// only if the old copy was already moved aside) and `NAME.old-PID` (the previous copy). Where NAME itself is gone
    /// the write was between its two renames, so the finished temporary takes its place; every other leftover is
    /// removed. Only names this program writes there: a user's own `x.old-1` in a folder given with --overwrite is
    /// not ours to rename or delete. Call it only while holding the folder (no other writer can be mid-write).
    public static void Recover(string parent, Func<string, bool> ours)
    {
        if (!Directory.Exists(parent)) return;
        foreach (var old in Directory.GetDirectories(parent))
        {
            var m = OldName.Match(Path.GetFileName(old));
            if (!m.Success || !ours(m.Groups[1].Value)) continue;
            var target = Path.Combine(parent, m.Groups[1].Value);
            var tmp = Path.Combine(parent, "." + m.Groups[1].Value + ".tmp-" + m.Groups[2].Value);
            if (!Directory.Exists(target)) Directory.Move(Directory.Exists(tmp) ? tmp : old, target);
        }
        foreach (var entry in Directory.EnumerateFileSystemEntries(parent).ToList())
        {
            var name = Path.GetFileName(entry);
            var m = TmpName.Match(name) is { Success: true } t ? t : OldName.Match(name);
            if (!m.Success || !ours(m.Groups[1].Value)) continue;
            if (Directory.Exists(entry)) Directory.Delete(entry, true);
            else File.Delete(entry);
        }
    }

    static readonly System.Text.RegularExpressions.Regex TmpName = new(@"^\.(.+)\.tmp-(\d+)$");
    static readonly System.Text.RegularExpressions.Regex OldName = new(@"^(.+)\.old-(\d+)$");
}
