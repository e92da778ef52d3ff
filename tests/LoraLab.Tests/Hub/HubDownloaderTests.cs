using System.Text;
using LoraLab.Hub;
using Xunit;
using static LoraLab.Tests.Hub.HubTestKit;

namespace LoraLab.Tests.Hub;

/// The downloader against the fake Hub: the cache layout Python uses (and a cache Python left), offline and
/// unreachable Hubs, verified blobs, resumed downloads, concurrent downloads of one blob, the disk space check.
public class HubDownloaderTests
{
    [Fact]
    public void A_snapshot_is_laid_out_as_python_lays_it_out_and_a_second_call_downloads_nothing()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/tiny", RepoFixtures.Path_("tiny-chat"));
        var cache = TempDir.New("hub");
        var dir = new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny"));

        var repoDir = Path.Combine(cache, "models--test-org--tiny");
        Assert.Equal(Path.Combine(repoDir, "snapshots", repo.Commit), dir);
        Assert.Equal(repo.Commit, File.ReadAllText(Path.Combine(repoDir, "refs", "main")));
        foreach (var (file, bytes) in repo.Files.Where(f => f.Key != "golden.json"))
        {
            var etag = FakeHub.Etag(file, bytes);
            var link = new FileInfo(Path.Combine(dir, file));
            Assert.Equal(Path.Combine("..", "..", "blobs", etag), link.LinkTarget);
            Assert.Equal(bytes, File.ReadAllBytes(link.FullName));
            Assert.True(File.Exists(Path.Combine(cache, ".locks", "models--test-org--tiny", etag + ".lock")), etag);
        }
        Assert.False(File.Exists(Path.Combine(dir, "golden.json")));   // not a file loading reads
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(repoDir, "blobs"), "*.incomplete"));

        hub.Requests.Clear();
        Assert.Equal(dir, new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny")));
        Assert.Equal(["/api/models/test-org/tiny/revision/main"], hub.Requests.Select(r => r.Path));
    }

    [Fact]
    public void Files_in_subfolders_link_relatively_from_their_depth()
    {
        using var hub = new FakeHub();
        var files = SmallModel();
        files["extra/deep/notes.json"] = Encoding.UTF8.GetBytes("{}");
        var repo = hub.AddRepo("test-org/deep", files);
        var cache = TempDir.New("hub");
        var dir = new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/deep"), include: ["**/*.json"]);
        var link = new FileInfo(Path.Combine(dir, "extra", "deep", "notes.json"));
        Assert.Equal(Path.Combine("..", "..", "..", "..", "blobs", FakeHub.Etag("notes.json", files["extra/deep/notes.json"])), link.LinkTarget);
        Assert.Equal("{}", File.ReadAllText(link.FullName));
        Assert.False(File.Exists(Path.Combine(dir, "model.safetensors")));   // --include chose only the JSON files
    }

    /// A cache as huggingface_hub leaves it: blobs named by sha256 (LFS) or git blob hash, relative links, refs/main
    /// holding the commit with no newline.
    static string PythonCache(FakeHub.Repo repo)
    {
        var cache = TempDir.New("pycache");
        var repoDir = Path.Combine(cache, "models--" + repo.Id.Replace("/", "--"));
        var snapshot = Path.Combine(repoDir, "snapshots", repo.Commit);
        Directory.CreateDirectory(Path.Combine(repoDir, "blobs"));
        Directory.CreateDirectory(snapshot);
        Directory.CreateDirectory(Path.Combine(repoDir, "refs"));
        File.WriteAllText(Path.Combine(repoDir, "refs", "main"), repo.Commit);
        foreach (var (file, bytes) in repo.Files)
        {
            var etag = FakeHub.Etag(file, bytes);
            File.WriteAllBytes(Path.Combine(repoDir, "blobs", etag), bytes);
            File.CreateSymbolicLink(Path.Combine(snapshot, file), "../../blobs/" + etag);
        }
        return cache;
    }

    [Fact]
    public void A_cache_python_left_is_used_offline_with_no_request_and_online_with_only_the_revision_call()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/tiny", SmallModel());
        var cache = PythonCache(repo);
        var expected = Path.Combine(cache, "models--test-org--tiny", "snapshots", repo.Commit);

        Assert.Equal(expected, new HubDownloader(Env(hub, cache, offline: true)).Snapshot(Id("test-org/tiny")));
        Assert.Empty(hub.Requests);

        Assert.Equal(expected, new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny")));
        Assert.Equal(["GET /api/models/test-org/tiny/revision/main"], hub.Requests.Select(r => $"{r.Method} {r.Path}"));

        // Pinned to the commit, offline: found by its snapshot folder, no refs needed.
        Assert.Equal(expected, new HubDownloader(Env(hub, cache, offline: true)).Snapshot(Id("test-org/tiny@" + repo.Commit)));
    }

    [Fact]
    public void Offline_with_an_empty_cache_says_there_is_no_snapshot()
    {
        using var hub = new FakeHub();
        hub.AddRepo("test-org/tiny", SmallModel());
        var e = Assert.Throws<UserException>(() => new HubDownloader(Env(hub, TempDir.New("hub"), offline: true)).Snapshot(Id("test-org/tiny")));
        Assert.Contains("offline", e.Message);
        Assert.Contains("no snapshot of test-org/tiny", e.Message);
        Assert.Contains("loralab download test-org/tiny", e.Message);
        Assert.Empty(hub.Requests);
    }

    [Fact]
    public void Offline_with_a_partial_cache_names_the_missing_files()
    {
        using var hub = new FakeHub();
        hub.AddRepo("test-org/tiny", SmallModel());
        var cache = TempDir.New("hub");
        // An earlier online run that failed on the weights: the metadata files and the ref are there.
        hub.CorruptFile["model.safetensors"] = true;
        Assert.Throws<UserException>(() => new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny")));

        var e = Assert.Throws<UserException>(() => new HubDownloader(Env(hub, cache, offline: true)).Snapshot(Id("test-org/tiny")));
        Assert.Contains("lacks model.safetensors of test-org/tiny", e.Message);
        Assert.DoesNotContain("config.json", e.Message);
    }

    [Fact]
    public void After_an_online_download_offline_works_with_the_server_stopped()
    {
        var hub = new FakeHub();
        hub.AddRepo("test-org/tiny", SmallModel());
        var cache = TempDir.New("hub");
        var online = new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny"));
        hub.Dispose();
        var offline = new HubDownloader(Env(hub, cache, offline: true)).Snapshot(Id("test-org/tiny"));
        Assert.Equal(online, offline);
        Assert.Equal(SmallModel()["config.json"], File.ReadAllBytes(Path.Combine(offline, "config.json")));
    }

    [Fact]
    public void Offline_include_globs_the_snapshot_lacks_are_named()
    {
        var hub = new FakeHub();
        hub.AddRepo("test-org/tiny", SmallModel());
        var cache = TempDir.New("hub");
        new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny"));
        hub.Dispose();
        var offline = new HubDownloader(Env(hub, cache, offline: true));
        Assert.NotNull(offline.Snapshot(Id("test-org/tiny"), include: ["*.json"]));
        var e = Assert.Throws<UserException>(() => offline.Snapshot(Id("test-org/tiny"), include: ["*.json", "golden.*"]));
        Assert.Contains("lacks a file matching golden.*", e.Message);
    }

    [Fact]
    public void An_unreachable_hub_falls_back_to_a_complete_cached_snapshot_and_says_so()
    {
        var hub = new FakeHub();
        hub.AddRepo("test-org/tiny", SmallModel());
        var cache = TempDir.New("hub");
        var online = new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny"));
        hub.Stop();
        var progress = new RecordingProgress();
        Assert.Equal(online, new HubDownloader(Env(hub, cache), progress).Snapshot(Id("test-org/tiny")));
        var note = Assert.Single(progress.Notes);
        Assert.Contains("cannot reach the Hugging Face Hub", note);
        Assert.Contains("using the cached snapshot of test-org/tiny", note);
        hub.Dispose();
    }

    [Fact]
    public void An_unreachable_hub_with_an_empty_cache_is_one_line()
    {
        var hub = new FakeHub();
        hub.Stop();
        var e = Assert.Throws<HubUnreachableException>(() => new HubDownloader(Env(hub, TempDir.New("hub"))).Snapshot(Id("test-org/tiny")));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains($"cannot reach the Hugging Face Hub at {hub.Endpoint}", e.Message);
        Assert.Contains("HF_HUB_OFFLINE=1", e.Message);
        hub.Dispose();
    }

    [Fact]
    public void A_hanging_hub_times_out_and_falls_back_to_the_cache()
    {
        using var hub = new FakeHub();
        hub.AddRepo("test-org/tiny", SmallModel());
        var cache = TempDir.New("hub");
        var online = new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny"));
        hub.DelayMs = 2000;
        var env = Env(hub, cache, attempts: 2) with { MetadataTimeout = TimeSpan.FromMilliseconds(150) };
        var progress = new RecordingProgress();
        Assert.Equal(online, new HubDownloader(env, progress).Snapshot(Id("test-org/tiny")));
        Assert.Contains("timed out", Assert.Single(progress.Notes));
    }

    [Theory]
    [InlineData("model.safetensors", "sha256")]
    [InlineData("config.json", "git blob hash")]
    public void Bytes_that_do_not_match_their_etag_are_refused_and_not_cached(string file, string hash)
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/tiny", SmallModel());
        var cache = TempDir.New("hub");
        hub.CorruptFile[file] = true;
        var e = Assert.Throws<UserException>(() => new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny")));
        var etag = FakeHub.Etag(file, repo.Files[file]);
        Assert.Contains($"test-org/tiny: {file} failed its check (its {hash} is ", e.Message);
        Assert.Contains($"its ETag says {etag}); it was not cached", e.Message);
        var repoDir = Path.Combine(cache, "models--test-org--tiny");
        Assert.DoesNotContain(FilesUnder(Path.Combine(repoDir, "blobs")), f => f.StartsWith(etag));
        Assert.DoesNotContain(FilesUnder(repoDir), f => f.EndsWith(".incomplete"));
        Assert.False(File.Exists(Path.Combine(repoDir, "snapshots", repo.Commit, file)));
        Assert.False(new FileInfo(Path.Combine(repoDir, "snapshots", repo.Commit, file)).Exists);

        hub.CorruptFile.Clear();
        var dir = new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny"));
        Assert.Equal(repo.Files[file], File.ReadAllBytes(Path.Combine(dir, file)));
    }

    [Fact]
    public void A_download_cut_half_way_resumes_with_range()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/tiny", SmallModel(1 << 20));
        hub.CutFile["model.safetensors"] = 1;
        var progress = new RecordingProgress();
        var dir = new HubDownloader(Env(hub, TempDir.New("hub")), progress).Snapshot(Id("test-org/tiny"));

        Assert.Equal(repo.Files["model.safetensors"], File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
        var gets = CdnGets(hub);
        Assert.Equal(2, gets.Count);
        Assert.Null(gets[0].Range);
        var from = long.Parse(gets[1].Range!["bytes=".Length..].TrimEnd('-'));
        Assert.Equal($"bytes={from}-", gets[1].Range);
        Assert.InRange(from, 1, (1 << 20) / 2);
        Assert.Equal(1 << 20, progress.Advanced["model.safetensors"]);
    }

    [Fact]
    public void An_incomplete_file_an_earlier_process_left_is_resumed()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/tiny", SmallModel());
        var cache = TempDir.New("hub");
        var bytes = repo.Files["model.safetensors"];
        var incomplete = Path.Combine(cache, "models--test-org--tiny", "blobs", FakeHub.Sha256(bytes) + ".incomplete");
        Directory.CreateDirectory(Path.GetDirectoryName(incomplete)!);
        File.WriteAllBytes(incomplete, bytes[..1000]);

        var progress = new RecordingProgress();
        var dir = new HubDownloader(Env(hub, cache), progress).Snapshot(Id("test-org/tiny"));
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
        Assert.Equal("bytes=1000-", Assert.Single(CdnGets(hub)).Range);
        Assert.Contains(("model.safetensors", (long?)bytes.Length, 1000L), progress.Starts);
        Assert.False(File.Exists(incomplete));
    }

    [Fact]
    public void A_server_that_ignores_range_restarts_the_file_cleanly()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/tiny", SmallModel(1 << 20));
        hub.IgnoreRange = true;
        hub.CutFile["model.safetensors"] = 1;
        var progress = new RecordingProgress();
        var dir = new HubDownloader(Env(hub, TempDir.New("hub")), progress).Snapshot(Id("test-org/tiny"));
        Assert.Equal(repo.Files["model.safetensors"], File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
        Assert.NotNull(CdnGets(hub)[1].Range);                           // asked to resume, got the whole file
        Assert.Equal(1 << 20, progress.Advanced["model.safetensors"]);   // the bar went back before counting again
    }

    [Fact]
    public void Two_downloads_of_one_blob_at_once_end_with_one_correct_blob()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/tiny", SmallModel(128 << 10));
        using var hold = new ManualResetEventSlim(false);
        hub.HoldCdn = hold;   // the first download stays open until the second is seen waiting for its lock
        var cache = TempDir.New("hub");
        var progress = new RecordingProgress[] { new(), new() };
        Task<string> Run(RecordingProgress p) => Task.Factory.StartNew(() => new HubDownloader(Env(hub, cache), p).Snapshot(Id("test-org/tiny")), TaskCreationOptions.LongRunning);
        var first = Run(progress[0]);
        // The second starts once the first is fetching the weights, so it finds their lock held.
        while (CdnGets(hub).Count == 0 && !first.IsCompleted) Thread.Sleep(5);
        var runs = new[] { first, Run(progress[1]) };
        for (var waited = System.Diagnostics.Stopwatch.StartNew(); progress[1].Notes.Count == 0 && waited.Elapsed < TimeSpan.FromSeconds(20);) Thread.Sleep(5);
        hold.Set();
        Task.WaitAll(runs);

        Assert.Equal(runs[0].Result, runs[1].Result);
        var bytes = repo.Files["model.safetensors"];
        Assert.Equal(bytes, File.ReadAllBytes(Path.Combine(runs[0].Result, "model.safetensors")));
        Assert.Single(CdnGets(hub));   // the one that waited found the blob and fetched nothing
        Assert.Equal("another process is downloading model.safetensors of test-org/tiny; waiting for it", Assert.Single(progress[1].Notes));
        Assert.Equal(3, FilesUnder(Path.Combine(cache, "models--test-org--tiny", "blobs")).Count());
    }

    [Fact]
    public void A_file_bigger_than_the_free_space_is_refused_before_any_byte_is_written()
    {
        using var hub = new FakeHub();
        hub.AddRepo("test-org/tiny", SmallModel());
        hub.AnnouncedSize["model.safetensors"] = 1L << 60;
        var cache = TempDir.New("hub");
        var e = Assert.Throws<UserException>(() => new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny")));
        Assert.Contains($"test-org/tiny needs {(double)(1L << 30):0.0} GiB more in {cache}, but only", e.Message);
        Assert.Contains("HF_HUB_CACHE", e.Message);
        Assert.Empty(CdnGets(hub));
        Assert.DoesNotContain(FilesUnder(Path.Combine(cache, "models--test-org--tiny", "blobs")), f => f.EndsWith(".incomplete"));
    }

    [Fact]
    public void A_link_whose_blob_is_gone_is_fetched_again()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/tiny", SmallModel());
        var cache = TempDir.New("hub");
        var dir = new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny"));
        File.Delete(Path.Combine(cache, "models--test-org--tiny", "blobs", FakeHub.Sha256(repo.Files["model.safetensors"])));
        Assert.Equal(dir, new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny")));
        Assert.Equal(repo.Files["model.safetensors"], File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
    }
}
