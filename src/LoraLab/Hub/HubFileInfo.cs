namespace LoraLab.Hub;

/// A repo at one commit and the paths of its files (`siblings[].rfilename` of the Hub's revision API).
public sealed record HubRevisionInfo(string Commit, IReadOnlyList<string> Files);

/// What a HEAD on a file's resolve URL says: the commit it resolved to, its ETag (X-Linked-Etag for LFS files: the
/// sha256 of the bytes; ETag otherwise: the git blob hash), its size, and where the bytes are (a CDN after a redirect).
public sealed record HubFileInfo(string File, string Etag, long? Size, string Location, string? Commit)
{
    /// An LFS file's ETag is the sha256 of its bytes: 64 hex digits.
    public bool IsLfs => Etag.Length == 64 && Etag.All(Uri.IsHexDigit);
}
