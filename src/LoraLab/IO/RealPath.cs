namespace LoraLab.IO;

/// Absolute paths with every symbolic link resolved (like realpath(3), also for paths not created yet), so two
/// spellings of one folder compare equal.
public static class RealPath
{
    public static string Of(string path)
    {
        var full = Path.GetFullPath(path);
        var root = Path.GetPathRoot(full)!;
        var resolved = root;
        var rest = new Stack<string>(full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse());
        for (int links = 0; rest.Count > 0;)
        {
            var next = Path.Combine(resolved, rest.Pop());
            var target = new FileInfo(next).LinkTarget;
            if (target is null) { resolved = next; continue; }
            if (++links > 40) throw new UserException($"{path}: too many levels of symbolic links");
            // A link's target replaces it, relative to the folder holding the link; its parts are resolved in turn.
            var absolute = Path.GetFullPath(target, resolved);
            foreach (var part in absolute[Path.GetPathRoot(absolute)!.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse())
                rest.Push(part);
            resolved = Path.GetPathRoot(absolute)!;
        }
        return resolved;
    }

    /// True when two paths name the same file or folder (links resolved).
    public static bool Same(string a, string b)
    {
        string ra = Of(a), rb = Of(b);
        return IsWithin(ra, rb) && IsWithin(rb, ra);
    }

    /// True when `inner` is `outer` or lies inside it (both already real paths).
    public static bool IsWithin(string inner, string outer)
    {
        var cmp = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var o = Path.TrimEndingDirectorySeparator(outer);
        return string.Equals(Path.TrimEndingDirectorySeparator(inner), o, cmp)
            || inner.StartsWith(o + Path.DirectorySeparatorChar, cmp) || (o.Length > 0 && o[^1] == Path.DirectorySeparatorChar && inner.StartsWith(o, cmp));
    }
}
