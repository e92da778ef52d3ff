namespace LoraLab.IO;

/// A file written whole: the content goes to a hidden temporary beside it (a unique name, so two writers never share
/// one), which is renamed over the file, so a reader sees the old file or the new one, never half of either. The
/// temporary is removed when writing it fails.
public static class AtomicFile
{
    public static void WriteAllText(string path, string text) => Write(path, tmp => File.WriteAllText(tmp, text));

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, tmp => File.WriteAllBytes(tmp, bytes));

    /// `write` makes the temporary (a copy, a symlink, ...); it then replaces `path` whole.
    public static void Write(string path, Action<string> write)
    {
        string tmp = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            write(tmp);
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }
}
