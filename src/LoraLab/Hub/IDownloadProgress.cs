namespace LoraLab.Hub;

/// Where download progress goes (the CLI draws bars on stderr; a library caller may pass nothing).
public interface IDownloadProgress
{
    /// One file starts: `size` bytes in all when known, `resumedFrom` of them already on disk.
    IFileProgress Start(string file, long? size, long resumedFrom);
    /// A line worth telling the user (waiting for another process, using the cache offline).
    void Note(string message);
}

public interface IFileProgress
{
    /// `bytes` more arrived (negative when a server ignored a Range and the file starts again).
    void Advance(long bytes);
    void Done();
}
