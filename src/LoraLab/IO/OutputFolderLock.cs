namespace LoraLab.IO;

/// An exclusive OS lock on an output folder for the life of a run: `.loralab.lock` inside it, opened with
/// FileShare.None (on Unix .NET takes flock(LOCK_EX) on it, which refuses a second open, from another process or
/// this one). The kernel drops the lock when the process dies, so a lock file left by a killed run does not block:
/// opening and locking decides, never the file's existence. Another process cannot read a locked file through
/// .NET, so the holder's PID is written beside it in `.loralab.pid` for the refusal to name.
public sealed class OutputFolderLock : IDisposable
{
    public const string LockFile = ".loralab.lock";
    public const string PidFile = ".loralab.pid";

    /// The files a lock puts in a folder: they do not make it "not empty".
    public static bool IsLockFile(string name) => name is LockFile or PidFile;

    readonly FileStream _lock;
    readonly string _pidPath;

    public string Folder { get; }

    OutputFolderLock(string folder, FileStream lockStream)
    {
        Folder = folder;
        _lock = lockStream;
        _pidPath = Path.Combine(folder, PidFile);
        File.WriteAllText(_pidPath, $"{Environment.ProcessId}\n");
    }

    /// Locks the existing folder `dir`, or throws a UserException naming the process that holds it.
    public static OutputFolderLock Acquire(string dir, string flag = "--out")
    {
        var path = Path.Combine(dir, LockFile);
        for (int attempt = 0; ; attempt++)
        {
            FileStream stream;
            try { stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException e) when (IsHeldElsewhere(e))
            {
                throw new UserException($"{flag} {dir}: in use by another loralab process ({Holder(dir)}); wait for it to finish or choose another {flag}");
            }
            catch (Exception e) when (StorageErrors.From(e, path) is { } user)
            {
                throw new StorageException(user.Problem, dir, $"choose another {flag}", e); // the folder is the user's choice, not our file
            }
            // A holder deletes the file as it lets go: a lock taken on a file unlinked meanwhile guards nothing.
            if (File.Exists(path) || attempt >= 10)
            {
                try { return new OutputFolderLock(dir, stream); }
                catch (Exception e)
                {
                    stream.Dispose();
                    if (StorageErrors.From(e, Path.Combine(dir, PidFile)) is { } user) throw new StorageException(user.Problem, dir, $"choose another {flag}", e);
                    throw;
                }
            }
            stream.Dispose();
        }
    }

    /// EWOULDBLOCK from flock (Unix: EAGAIN 11 on Linux, 35 on macOS) or a sharing violation (Windows).
    static bool IsHeldElsewhere(IOException e) =>
        e.GetType() == typeof(IOException) && (e.HResult is 11 or 35 || (e.HResult & 0xFFFF) is 32 or 33);

    /// "PID 1234" from the holder's pid file; it is written right after the lock is taken, so wait for it briefly.
    static string Holder(string dir)
    {
        var pidPath = Path.Combine(dir, PidFile);
        for (int i = 0; i < 20; i++)
        {
            try
            {
                var text = File.ReadAllText(pidPath).Trim();
                if (int.TryParse(text, out int pid) && pid > 0) return $"PID {pid}";
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            Thread.Sleep(25);
        }
        return "PID unknown";
    }

    /// Deletes the locked folder with all it holds, lock files included, then lets go: deleted while still held, so
    /// no other process can take the folder in between and lose its fresh lock file with it.
    public void DeleteFolder()
    {
        try { if (Directory.Exists(Folder)) Directory.Delete(Folder, true); }
        finally { Dispose(); }
    }

    /// Removes the lock and pid files (while still holding the lock), then lets go. Only while the pid file is still
    /// ours: a folder replaced as a whole (merge) may hold another process's lock by now.
    public void Dispose()
    {
        try
        {
            if (File.ReadAllText(_pidPath).Trim() == $"{Environment.ProcessId}")
            {
                File.Delete(_lock.Name);
                File.Delete(_pidPath);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        _lock.Dispose();
    }
}
