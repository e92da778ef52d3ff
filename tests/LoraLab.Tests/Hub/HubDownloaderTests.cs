using LoraLab.Hub;
using Xunit;

namespace LoraLab.Tests.Hub;

/// The downloader against the fake Hub: the cache layout, a complete snapshot, and the offline fallback.
public class HubDownloaderTests
{
    static HubEnvironment Env(FakeHub hub, string cache, string? token = null, bool offline = false) => new()
    {
        Endpoint = hub.Endpoint, CacheDir = cache, Token = token, TokenSource = token is null ? null : "HF_TOKEN",
        Offline = offline, Backoff = TimeSpan.FromMilliseconds(10),
    };

    [Fact]
    public void A_snapshot_is_laid_out_as_python_lays_it_out()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/tiny", RepoFixtures.Path_("tiny-chat"));
        var cache = TempDir.New("hub");
        var dir = new HubDownloader(Env(hub, cache)).Snapshot(HubRepoId.TryParse("test-org/tiny")!);

        var repoDir = Path.Combine(cache, "models--test-org--tiny");
        Assert.Equal(Path.Combine(repoDir, "snapshots", repo.Commit), dir);
        Assert.Equal(repo.Commit, File.ReadAllText(Path.Combine(repoDir, "refs", "main")));
        foreach (var (file, bytes) in repo.Files.Where(f => f.Key != "golden.json"))
        {
            var link = new FileInfo(Path.Combine(dir, file));
            Assert.Equal(Path.Combine("..", "..", "blobs", FakeHub.Etag(file, bytes)), link.LinkTarget);
            Assert.Equal(bytes, File.ReadAllBytes(link.FullName));
        }
        Assert.False(File.Exists(Path.Combine(dir, "golden.json")));   // not a file loading reads
    }
}
