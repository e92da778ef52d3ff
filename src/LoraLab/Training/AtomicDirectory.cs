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
}
