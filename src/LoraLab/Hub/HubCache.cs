using LoraLab.IO;

namespace LoraLab.Hub;

/// The Hub cache as huggingface_hub lays it out, so a model fetched by Python is found here and the other way round:
///   {cache}/models--{org}--{name}/blobs/{etag}                 the bytes, named by their ETag (sha256 for LFS files)
///   {cache}/models--{org}--{name}/snapshots/{commit}/{file}    relative symlinks into blobs/
///   {cache}/models--{org}--{name}/refs/{revision}              the commit a branch or tag pointed to
///   {cache}/.locks/models--{org}--{name}/{etag}.lock           held while one process downloads that blob
public sealed class HubCache(string root)
{
    public string Root { get; } = Path.GetFullPath(root);

    /// A name the server gives that becomes one path component (a commit, an ETag): letters, digits, `-`, `_`, `.`,
    /// and not `.` or `..`, so a hostile endpoint cannot point a blob or snapshot outside the cache.
    public static bool IsSafeName(string name) =>
        name.Length is > 0 and <= 255 && name is not ("." or "..") && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// A repo file path that stays inside its snapshot folder: relative, `/`-separated, no empty, `.` or `..` part.
    public static bool IsSafeFilePath(string path) =>
        path.Length > 0 && !path.Contains('\\') && !path.Any(char.IsControl) && !Path.IsPathRooted(path)
        && path.Split('/').All(part => part.Length > 0 && part is not ("." or ".."));

    public string RepoDir(HubRepoId repo) => Path.Combine(Root, repo.FolderName);
    public string BlobPath(HubRepoId repo, string etag) => Path.Combine(RepoDir(repo), "blobs", etag);
    public string IncompletePath(HubRepoId repo, string etag) => BlobPath(repo, etag) + ".incomplete";
    public string LockPath(HubRepoId repo, string etag) => Path.Combine(Root, ".locks", repo.FolderName, etag + ".lock");
    public string SnapshotDir(HubRepoId repo, string commit) => Path.Combine(RepoDir(repo), "snapshots", commit);
    public string RefPath(HubRepoId repo, string revision) =>
        IsSafeFilePath(revision) ? Path.Combine(RepoDir(repo), "refs", revision) : throw new UserException($"{repo.Id}: revision '{revision}' cannot name a ref in the cache");

    /// The commit the cache holds for the repo's revision: the revision itself when it is a commit with a snapshot,
    /// else what refs/{revision} says; null when the cache has neither.
    public string? CommitFor(HubRepoId repo)
    {
        if (repo.RevisionIsCommit) return Directory.Exists(SnapshotDir(repo, repo.Revision)) ? repo.Revision : null;
        var refPath = RefPath(repo, repo.Revision);
        if (!File.Exists(refPath)) return null;
        var commit = File.ReadAllText(refPath).Trim();
        return IsSafeName(commit) ? commit : null;   // a ref file's text becomes a folder name
    }

    /// Records that `repo`'s revision points at `commit` (nothing to record when the revision is the commit).
    public void WriteRef(HubRepoId repo, string commit)
    {
        if (repo.Revision == commit) return;
        var path = RefPath(repo, repo.Revision);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (File.Exists(path) && File.ReadAllText(path).Trim() == commit) return;
        AtomicFile.WriteAllText(path, commit);
    }

    /// The snapshot's file when it is there and its blob is whole (a dangling link counts as missing).
    public bool HasFile(HubRepoId repo, string commit, string file) => IsReadable(Path.Combine(SnapshotDir(repo, commit), file));

    /// A file, or a link whose final target is a file (File.Exists is true for a dangling link on Linux).
    public static bool IsReadable(string path)
    {
        var info = new FileInfo(path);
        return info.Exists && (info.LinkTarget is null || info.ResolveLinkTarget(returnFinalTarget: true) is { Exists: true });
    }

    /// Points snapshots/{commit}/{file} at blobs/{etag} with a relative symlink (as Python does, so the cache can
    /// be moved); replaces an older link atomically.
    public void Link(HubRepoId repo, string commit, string file, string etag)
    {
        var snapshot = SnapshotDir(repo, commit);
        var link = Path.Combine(snapshot, file);
        var dir = Path.GetDirectoryName(link)!;
        var parts = file.Split('/');
        for (int i = 1; i < parts.Length; i++)
            if (File.Exists(Path.Combine(snapshot, string.Join('/', parts[..i]))))
                throw Clash(repo, string.Join('/', parts[..i]));
        if (Directory.Exists(link)) throw Clash(repo, file);
        Directory.CreateDirectory(dir);
        var target = Path.GetRelativePath(dir, BlobPath(repo, etag));
        AtomicFile.Write(link, tmp => File.CreateSymbolicLink(tmp, target));
    }

    /// Every file under a snapshot folder as a repo path (`/`-separated, relative to the snapshot).
    public static IEnumerable<string> RepoPaths(string snapshotDir) =>
        Directory.EnumerateFiles(snapshotDir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(snapshotDir, f).Replace(Path.DirectorySeparatorChar, '/'));

    static UserException Clash(HubRepoId repo, string name) =>
        new($"{repo}: the repo has both a file and a folder named {name}; a snapshot folder cannot hold both");

    /// Every repo folder in the cache with the bytes of its blobs, largest first (for `doctor`).
    public IReadOnlyList<(string Repo, long Bytes)> Repos()
    {
        if (!Directory.Exists(Root)) return [];
        return Directory.EnumerateDirectories(Root, "*--*")
            .Select(d => (Repo: Path.GetFileName(d), Bytes: BlobBytes(d)))
            .OrderByDescending(r => r.Bytes).ToList();
    }

    static long BlobBytes(string repoDir)
    {
        var blobs = Path.Combine(repoDir, "blobs");
        return Directory.Exists(blobs) ? new DirectoryInfo(blobs).EnumerateFiles().Sum(f => f.Length) : 0;
    }
}
