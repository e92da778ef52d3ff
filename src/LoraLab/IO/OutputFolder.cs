namespace LoraLab.IO;

/// An input a command reads, named by its flag for messages: a folder (--model) or a file (--data).
public sealed record InputPath(string Flag, string Path);

/// The output folder rule, for every command that writes a folder: never a file or a folder under a file; never
/// one of its inputs, inside one, or around one (`merge --out <the adapter> --overwrite` would delete its input);
/// never into a user's non-empty folder without --overwrite; and only one loralab process at a time.
public static class OutputFolder
{
    /// Checks `dir`, creates it and locks it; the caller holds the returned lock while it writes there.
    /// `overwrite` lets a non-empty folder through (the lock files themselves never count).
    public static OutputFolderLock Claim(string dir, bool overwrite, IEnumerable<InputPath> inputs, string flag = "--out")
    {
        if (File.Exists(dir)) throw new UserException($"{flag} {dir}: is a file, not a folder; choose another {flag}");
        if (StorageErrors.FileInPath(dir) is { } file)
            throw new UserException($"{flag} {dir}: {file} is a file, not a folder; choose another {flag}");
        CheckApartFromInputs(dir, inputs, flag);
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (StorageErrors.From(e, dir, $"choose another {flag}") is { } user) { throw user; }
        var held = OutputFolderLock.Acquire(dir, flag);
        if (!overwrite && !IsEmpty(dir))
        {
            held.Dispose();
            throw new UserException($"{flag} {dir}: folder exists and is not empty (pass --overwrite to write into it, or choose another {flag})");
        }
        return held;
    }

    /// Refuses an output folder that is an input, lies inside an input folder, or holds an input, with symbolic
    /// links resolved (a link to the adapter folder is the adapter folder).
    public static void CheckApartFromInputs(string dir, IEnumerable<InputPath> inputs, string flag = "--out")
    {
        var outReal = RealPath.Of(dir);
        foreach (var input in inputs)
        {
            if (string.IsNullOrEmpty(input.Path)) continue;
            var inReal = RealPath.Of(input.Path);
            string kind = File.Exists(inReal) ? "file" : "folder";
            string? relation =
                RealPath.IsWithin(outReal, inReal) && RealPath.IsWithin(inReal, outReal) ? $"is the {input.Flag} {kind} {input.Path}"
                : RealPath.IsWithin(outReal, inReal) ? $"lies inside the {input.Flag} {kind} {input.Path}"
                : RealPath.IsWithin(inReal, outReal) ? $"holds the {input.Flag} {kind} {input.Path}"
                : null;
            if (relation is not null)
                throw new UserException($"{flag} {dir}: {relation}; writing there could overwrite or delete an input; choose another {flag}");
        }
    }

    /// True when `dir` holds nothing but lock files.
    public static bool IsEmpty(string dir) =>
        !Directory.EnumerateFileSystemEntries(dir).Any(e => !OutputFolderLock.IsLockFile(Path.GetFileName(e)));
}
