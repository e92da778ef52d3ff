using System.Security.Cryptography;
using System.Text;
using LoraLab.Adapters;
using LoraLab.ModelFiles;

namespace LoraLab.Hub;

/// Brings a repo's snapshot into the cache and returns its folder: the revision API gives the commit and the files,
/// each missing file is fetched into its blob under a per-blob lock (to `.incomplete`, resumed with Range, checked
/// against its ETag, renamed), and linked into snapshots/{commit}/. Offline, or when the Hub cannot be reached at
/// all, a complete cached snapshot stands in; an incomplete one is named with what it lacks.
public sealed class HubDownloader(HubEnvironment env, IDownloadProgress? progress = null)
{
    public HubCache Cache { get; } = new(env.CacheDir);

    /// The snapshot folder of `repo` with the files loading needs, or with those `include` globs match.
    public string Snapshot(HubRepoId repo, IReadOnlyList<string>? include = null)
    {
        if (env.Offline)
            return CachedSnapshot(repo, include, out var missing)
                ?? throw new UserException($"offline (HF_HUB_OFFLINE or --offline), and the cache at {Cache.Root} {missing}; " +
                    $"run `loralab download {repo}` while online first");
        // A commit never moves: a complete snapshot of it needs no question to the Hub (as huggingface_hub).
        if (repo.RevisionIsCommit && include is null && CachedSnapshot(repo, null, out _) is { } pinned) return pinned;
        using var client = new HubClient(env);
        HubRevisionInfo info;
        try { info = client.Revision(repo); }
        // As huggingface_hub: a Hub that cannot be reached, or a repo it will not show (gated, private, gone), leaves
        // a complete cached snapshot usable; a revision the repo does not have is an error.
        catch (UserException e) when (e is HubUnreachableException or HubAccessDeniedException or HubRepoNotFoundException { Revision: false }
                                      && CachedSnapshot(repo, include, out _) is { } cached)
        {
            progress?.Note($"{e.Message.Split(';')[0]}; using the cached snapshot of {repo}");
            return cached;
        }
        // The ref first, as huggingface_hub writes it: offline, a download that stopped part-way is then found and
        // named by the files it lacks.
        Cache.WriteRef(repo, info.Commit);
        string snapshot = Cache.SnapshotDir(repo, info.Commit);
        if (include is not null)
        {
            var chosen = HubFileSelection.Matching(info.Files, include);
            if (chosen.Count == 0) throw new UserException($"{repo}: no file matches {string.Join(", ", include)} (the repo has {Listing(info.Files)})");
            Fetch(client, repo, info.Commit, chosen);
        }
        else
        {
            var metadata = HubFileSelection.Metadata(info.Files);
            if (!metadata.Contains("config.json") && !metadata.Contains(PeftFormat.ConfigFile))
                throw new UserException($"{repo} has neither config.json nor adapter_config.json: not a model or adapter LoraLab can load (it has {Listing(info.Files)})");
            Fetch(client, repo, info.Commit, metadata);
            var weights = HubFileSelection.Weights(info.Files, f => Path.Combine(snapshot, f));
            if (weights.Count == 0)
                throw new UserException($"{repo} has no safetensors weights" + (info.Files.Any(HubFileSelection.IsPickle)
                    ? " (only pickled .bin/.pt files, which LoraLab never loads because loading a pickle can run code; a safetensors conversion of the model is needed)"
                    : $" (it has {Listing(info.Files)})"));
            Fetch(client, repo, info.Commit, weights);
        }
        return snapshot;
    }

    /// The cached snapshot of `repo`'s revision when it holds what loading needs (or, with `include`, exists);
    /// otherwise null with `missing` saying what is not there.
    public string? CachedSnapshot(HubRepoId repo, IReadOnlyList<string>? include, out string missing)
    {
        var commit = Cache.CommitFor(repo);
        if (commit is null)
        {
            missing = $"has no snapshot of {repo} (no {Path.GetRelativePath(Cache.Root, Cache.RefPath(repo, repo.Revision))})";
            return null;
        }
        var dir = Cache.SnapshotDir(repo, commit);
        var lacking = include is null ? MissingForLoading(dir) : MissingForGlobs(dir, include);
        missing = lacking.Count == 0 ? "" : $"lacks {string.Join(", ", lacking)} of {repo} (snapshot {commit})";
        return lacking.Count == 0 ? dir : null;
    }

    /// The globs no readable file of the snapshot matches (offline, `download --include` must not print a folder
    /// without the files asked for).
    static List<string> MissingForGlobs(string dir, IReadOnlyList<string> include)
    {
        if (!Directory.Exists(dir)) return ["the snapshot folder"];
        var files = HubCache.RepoPaths(dir).Where(f => HubCache.IsReadable(Path.Combine(dir, f))).ToList();
        return include.Where(g => HubFileSelection.Matching(files, [g]).Count == 0).Select(g => $"a file matching {g}").ToList();
    }

    /// What a snapshot needs before a model or an adapter loads from it: its config, and its weights (every shard
    /// the index names); a model also needs a tokenizer.
    static List<string> MissingForLoading(string dir)
    {
        bool Has(string f) => HubCache.IsReadable(Path.Combine(dir, f));
        if (Has(PeftFormat.ConfigFile))
            return Has(PeftFormat.WeightsFile) ? [] : [PeftFormat.WeightsFile];
        var missing = new List<string>();
        if (!Has("config.json")) missing.Add("config.json");
        if (!Has("tokenizer.json") && !Has("tokenizer.model")) missing.Add("tokenizer.json (or tokenizer.model)");
        if (Has(HubFileSelection.IndexFile))
            missing.AddRange(CheckpointFiles.Shards(Path.Combine(dir, HubFileSelection.IndexFile)).Where(s => !Has(s)));
        else if (!Directory.Exists(dir) || !Directory.EnumerateFiles(dir, "*.safetensors").Any(HubCache.IsReadable))
            missing.Add(CheckpointFiles.SingleFile);
        return missing;
    }

    /// Fetches the files not yet in the snapshot: metadata first (to check disk space for all of them), then bytes.
    void Fetch(HubClient client, HubRepoId repo, string commit, IReadOnlyList<string> files)
    {
        var needed = files.Where(f => !Cache.HasFile(repo, commit, f)).Select(f => client.Metadata(repo, commit, f)).ToList();
        var asked = System.Diagnostics.Stopwatch.StartNew();
        CheckDiskSpace(repo, needed);
        foreach (var meta in needed)
        {
            if (meta.Commit is { } c && c != commit)
                throw new UserException($"{repo}: {meta.File} resolved to commit {c}, not {commit}; the repo changed during the download, run again");
            var blob = Cache.BlobPath(repo, meta.Etag);
            if (!File.Exists(blob))
            {
                // The CDN's links are signed and expire: one asked for long ago (earlier shards took a while), or one
                // the CDN refuses, is asked for again.
                var current = asked.Elapsed > LinkLifetime ? Relinked(client, repo, commit, meta) : meta;
                try { FetchBlob(client, repo, current, blob); }
                catch (HubLocationRefusedException) { FetchBlob(client, repo, Relinked(client, repo, commit, meta), blob); }
            }
            Cache.Link(repo, commit, meta.File, meta.Etag);
        }
    }

    static readonly TimeSpan LinkLifetime = TimeSpan.FromMinutes(10);

    static HubFileInfo Relinked(HubClient client, HubRepoId repo, string commit, HubFileInfo meta) =>
        meta with { Location = client.Metadata(repo, commit, meta.File).Location };

    void CheckDiskSpace(HubRepoId repo, IReadOnlyList<HubFileInfo> needed)
    {
        long bytes = needed.Where(m => !File.Exists(Cache.BlobPath(repo, m.Etag)))
            .Sum(m => Math.Max(0, (m.Size ?? 0) - Length(Cache.IncompletePath(repo, m.Etag))));
        if (bytes == 0) return;
        var blobs = Path.GetDirectoryName(Cache.BlobPath(repo, "x"))!;
        Directory.CreateDirectory(blobs);
        long free = new DriveInfo(Path.GetFullPath(blobs)).AvailableFreeSpace;
        if (free < bytes)
            throw new UserException($"{repo} needs {Gb(bytes)} more in {Cache.Root}, but only {Gb(free)} is free there; " +
                "free some space or point HF_HUB_CACHE (or HF_HOME) at a larger disk");
    }

    /// One blob: under its lock (another process may be fetching it: wait, then use its result), appended to
    /// `.incomplete` from where an earlier try stopped, checked against the ETag, then renamed into place.
    void FetchBlob(HubClient client, HubRepoId repo, HubFileInfo meta, string blob)
    {
        using var _ = Lock(Cache.LockPath(repo, meta.Etag), repo, meta.File);
        if (File.Exists(blob)) return;
        var incomplete = Cache.IncompletePath(repo, meta.Etag);
        Directory.CreateDirectory(Path.GetDirectoryName(incomplete)!);
        using (var fs = new FileStream(incomplete, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            if (meta.Size is long size && fs.Length > size) fs.SetLength(0);
            var bar = progress?.Start(meta.File, meta.Size, fs.Length);
            client.Download(repo, meta.File, meta.Location, fs, meta.Size, n => bar?.Advance(n));
            string? problem = meta.Size is long expected && fs.Length != expected
                ? $"{fs.Length} bytes arrived but the Hub announced {expected}"
                : Verify(fs, meta.Etag);
            if (problem is not null)
            {
                fs.Dispose();
                File.Delete(incomplete);
                throw new UserException($"{repo}: {meta.File} failed its check ({problem}); it was not cached. Run the command again; " +
                    "if it repeats, a proxy or mirror is altering the file");
            }
            bar?.Done();
        }
        File.Move(incomplete, blob, overwrite: true);
    }

    /// Null when the bytes match the ETag: sha256 for an LFS file (64 hex digits), the git blob hash for a small
    /// file (40); any other ETag says nothing checkable about the content.
    static string? Verify(FileStream fs, string etag)
    {
        bool hex = etag.All(Uri.IsHexDigit);
        if (!hex || etag.Length is not (40 or 64)) return null;
        fs.Seek(0, SeekOrigin.Begin);
        string actual;
        if (etag.Length == 64) actual = Convert.ToHexStringLower(SHA256.HashData(fs));
        else
        {
            using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
            sha1.AppendData(Encoding.ASCII.GetBytes($"blob {fs.Length}\0"));
            var buffer = new byte[1 << 20];
            int n;
            while ((n = fs.Read(buffer)) > 0) sha1.AppendData(buffer, 0, n);
            actual = Convert.ToHexStringLower(sha1.GetHashAndReset());
        }
        return string.Equals(actual, etag, StringComparison.OrdinalIgnoreCase) ? null
            : $"its {(etag.Length == 64 ? "sha256" : "git blob hash")} is {actual}, its ETag says {etag}";
    }

    /// An exclusive lock file (flock on Linux, as Python's filelock takes it, so LoraLab and Python share it).
    FileStream Lock(string path, HubRepoId repo, string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        bool told = false;
        while (true)
        {
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException e) when (HeldByAnother(e))
            {
                if (!told) progress?.Note($"another process is downloading {file} of {repo}; waiting for it");
                told = true;
                Thread.Sleep(200);
            }
        }
    }

    /// The lock is taken (EWOULDBLOCK from flock, a sharing violation on Windows), as opposed to a read-only or
    /// full disk, which waiting would never cure.
    static bool HeldByAnother(IOException e) =>
        e.HResult is 11 or 35 || e.HResult == unchecked((int)0x80070020) || e.HResult == unchecked((int)0x80070021);

    static long Length(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    static string Gb(long bytes) => bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.0} GiB" : $"{bytes / (double)(1L << 20):0.0} MiB";

    static string Listing(IReadOnlyList<string> files) =>
        files.Count == 0 ? "no files" : string.Join(", ", files.Take(8)) + (files.Count > 8 ? $", ... ({files.Count} files)" : "");
}
