using System.Text.RegularExpressions;

namespace LoraLab.IO;

/// What kind of I/O failure the user can fix by freeing space or choosing another folder.
public enum StorageProblem { NoSpace, ReadOnly, PermissionDenied, FileInPath }

/// An I/O failure the user can fix: names the path and what to do (exit 2 like every user error).
public sealed class StorageException : UserException
{
    public StorageProblem Problem { get; }
    public string Path { get; }

    public StorageException(StorageProblem problem, string path, string? hint, Exception inner)
        : base(Describe(problem, path, hint), inner)
    {
        Problem = problem;
        Path = path;
    }

    static string Describe(StorageProblem problem, string path, string? hint) => problem switch
    {
        StorageProblem.NoSpace => $"no space left on device while writing {path}; {hint ?? "free some space or choose another folder"}",
        StorageProblem.ReadOnly => $"{path}: read-only file system; {hint ?? "choose a folder on a writable file system"}",
        StorageProblem.PermissionDenied => $"{path}: permission denied; {hint ?? "check its permissions or choose another folder"}",
        _ => $"{path}: {StorageErrors.FileInPath(path) ?? "a part of the path"} is a file, not a folder; {hint ?? "choose another path"}",
    };
}

/// Maps the IOExceptions of a full disk, a read-only file system, a denied permission or a file where a folder
/// is needed to a <see cref="StorageException"/>; anything else stays what it is (a bug until shown otherwise).
public static class StorageErrors
{
    // errno on Linux and macOS (.NET puts it in HResult on Unix), and the Windows HRESULTs.
    const int Enospc = 28, Erofs = 30, EdquotLinux = 122, EdquotMac = 69;
    const int WinDiskFull = unchecked((int)0x80070070), WinHandleDiskFull = unchecked((int)0x80070027), WinWriteProtect = unchecked((int)0x80070013);

    /// The user-fixable failure `e` stands for, naming the path in its message (else `path`), or null.
    public static StorageException? From(Exception e, string? path = null, string? hint = null)
    {
        if (e is StorageException s) return s;
        string? named = PathIn(e.Message) ?? path;
        StorageProblem? problem = e switch
        {
            IOException io when io.HResult is Enospc or EdquotLinux or EdquotMac or WinDiskFull or WinHandleDiskFull => StorageProblem.NoSpace,
            IOException io when io.HResult is Erofs or WinWriteProtect => StorageProblem.ReadOnly,
            UnauthorizedAccessException => StorageProblem.PermissionDenied,
            IOException when named is not null && FileInPath(named) is not null => StorageProblem.FileInPath,
            _ => null,
        };
        return problem is { } p && named is not null ? new StorageException(p, named, hint, e) : null;
    }

    /// .NET's I/O messages end with the path in quotes ("No space left on device : '/a/b'").
    static string? PathIn(string message) => Regex.Match(message, @"'([^']+)'").Groups[1] is { Success: true } g ? g.Value : null;

    /// The nearest existing ancestor of `path` when it is a file, else null: "/a/notes.txt/run" → "/a/notes.txt".
    public static string? FileInPath(string path)
    {
        for (var p = Path.GetDirectoryName(Path.GetFullPath(path)); p is not null; p = Path.GetDirectoryName(p))
        {
            if (File.Exists(p)) return p;
            if (Directory.Exists(p)) return null;
        }
        return null;
    }
}
