namespace LoraLab.Runtime;

/// Resident memory of this process from /proc (Linux); falls back to the managed working set elsewhere.
public static class ProcessMemory
{
    /// Current resident set size in bytes (VmRSS).
    public static long Rss() => Read("VmRSS:") ?? Environment.WorkingSet;

    /// Peak resident set size in bytes (VmHWM).
    public static long Peak() => Read("VmHWM:") ?? Environment.WorkingSet;

    static long? Read(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(key))
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0]) * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }
}
