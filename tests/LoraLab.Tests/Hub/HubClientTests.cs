using System.Text;
using LoraLab.Hub;
using Xunit;
using static LoraLab.Tests.Hub.HubTestKit;

namespace LoraLab.Tests.Hub;

/// The Hub's HTTP interface as the client speaks it: tokens (and where they go), gated repos, 404s, retries, a
/// renamed repo's redirect, and which files a snapshot fetches.
public class HubClientTests
{
    [Fact]
    public void A_gated_repo_without_a_token_says_to_set_hf_token_and_accept_the_licence()
    {
        using var hub = new FakeHub();
        hub.AddRepo("test-org/gated", SmallModel(), token: "hf_secret");
        var e = Assert.Throws<HubAccessDeniedException>(() => new HubDownloader(Env(hub, TempDir.New("hub"))).Snapshot(Id("test-org/gated")));
        Assert.Contains("test-org/gated is gated or private and no token was given", e.Message);
        Assert.Contains("set HF_TOKEN", e.Message);
        Assert.Contains($"accept the model's licence on its page ({hub.Endpoint}/test-org/gated)", e.Message);
    }

    [Fact]
    public void A_gated_repo_with_a_wrong_token_names_where_the_token_came_from()
    {
        using var hub = new FakeHub();
        hub.AddRepo("test-org/gated", SmallModel(), token: "hf_secret");
        var e = Assert.Throws<HubAccessDeniedException>(() => new HubDownloader(Env(hub, TempDir.New("hub"), token: "hf_other")).Snapshot(Id("test-org/gated")));
        Assert.Contains("test-org/gated: the token from HF_TOKEN is not allowed to read this repo (HTTP 401", e.Message);
        Assert.Contains($"accept its licence on {hub.Endpoint}/test-org/gated", e.Message);
    }

    [Fact]
    public void A_gated_repo_works_with_the_token_which_goes_to_the_endpoint_and_never_to_the_cdn()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/gated", SmallModel(), token: "hf_secret");
        var dir = new HubDownloader(Env(hub, TempDir.New("hub"), token: "hf_secret")).Snapshot(Id("test-org/gated"));
        Assert.Equal(repo.Files["model.safetensors"], File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));

        var cdn = hub.Requests.Where(r => r.Path.StartsWith("/cdn/")).ToList();
        var endpoint = hub.Requests.Where(r => !r.Path.StartsWith("/cdn/")).ToList();
        Assert.NotEmpty(cdn);
        Assert.All(cdn, r => Assert.Null(r.Authorization));
        Assert.Contains(endpoint, r => r.Method == "GET" && r.Path.Contains("/resolve/"));   // a small file's bytes
        Assert.All(endpoint, r => Assert.Equal("Bearer hf_secret", r.Authorization));
    }

    [Theory]
    [InlineData("\"abc123\"", "abc123")]
    [InlineData("W/\"abc123\"", "abc123")]
    [InlineData(" abc123 ", "abc123")]
    [InlineData("Wabc", "Wabc")]   // only a W/ prefix is weak (huggingface_hub's lstrip("W/") would eat this W)
    public void Etags_lose_their_quotes_and_weak_prefix(string header, string blob) => Assert.Equal(blob, HubClient.NormalizeEtag(header));

    [Fact]
    public void Five_hundreds_are_retried_and_then_the_download_goes_on()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/tiny", SmallModel());
        hub.Fail5xx = 3;
        var dir = new HubDownloader(Env(hub, TempDir.New("hub"))).Snapshot(Id("test-org/tiny"));
        Assert.Equal(repo.Files["model.safetensors"], File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
        Assert.Equal(4, hub.Requests.Count(r => r.Path == "/api/models/test-org/tiny/revision/main"));
    }

    [Fact]
    public void Too_many_five_hundreds_give_one_clear_line()
    {
        using var hub = new FakeHub();
        hub.AddRepo("test-org/tiny", SmallModel());
        hub.Fail5xx = 1000;
        var e = Assert.ThrowsAny<UserException>(() => new HubDownloader(Env(hub, TempDir.New("hub"), attempts: 3)).Snapshot(Id("test-org/tiny")));
        Assert.Equal(3, hub.Requests.Count);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("failed 3 times (HTTP 503)", e.Message);
        Assert.Contains("test-org/tiny", e.Message);
    }

    [Fact]
    public void Five_hundreds_during_a_byte_download_are_retried()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/tiny", SmallModel());
        var cache = TempDir.New("hub");
        var client = new HubClient(Env(hub, cache));
        var meta = client.Metadata(Id("test-org/tiny"), repo.Commit, "model.safetensors");
        hub.Fail5xx = 2;
        var target = Path.Combine(cache, "x");
        using (var fs = new FileStream(target, FileMode.Create))
            client.Download(Id("test-org/tiny"), "model.safetensors", meta.Location, fs, meta.Size, _ => { });
        Assert.Equal(repo.Files["model.safetensors"], File.ReadAllBytes(target));
        Assert.Equal(3, CdnGets(hub).Count);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("hf_secret")]
    public void An_unknown_repo_names_the_repo_and_revision(string? token)
    {
        using var hub = new FakeHub();
        // The Hub answers 401 RepoNotFound without a token (it does not tell a private repo from a missing one).
        var e = Assert.Throws<HubRepoNotFoundException>(() => new HubDownloader(Env(hub, TempDir.New("hub"), token: token)).Snapshot(Id("test-org/nope")));
        Assert.Contains($"test-org/nope: no such model repo at revision 'main' on {hub.Endpoint}", e.Message);
        Assert.Contains("private", e.Message);
    }

    [Fact]
    public void An_unknown_revision_names_it_even_when_the_cache_has_it()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/tiny", SmallModel());
        var cache = TempDir.New("hub");
        var e = Assert.Throws<HubRepoNotFoundException>(() => new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny@nope")));
        Assert.Equal($"test-org/tiny: revision 'nope' not found on {hub.Endpoint}", e.Message);

        // A tag the Hub no longer has, still in the cache: an error, as huggingface_hub makes it.
        new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny"));
        File.WriteAllText(Path.Combine(cache, "models--test-org--tiny", "refs", "nope"), repo.Commit);
        Assert.Throws<HubRepoNotFoundException>(() => new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny@nope")));
    }

    [Fact]
    public void A_gated_repo_cached_with_a_token_is_used_from_the_cache_without_one()
    {
        using var hub = new FakeHub();
        hub.AddRepo("test-org/gated", SmallModel(), token: "hf_secret");
        var cache = TempDir.New("hub");
        var dir = new HubDownloader(Env(hub, cache, token: "hf_secret")).Snapshot(Id("test-org/gated"));
        var progress = new RecordingProgress();
        int before = hub.Requests.Count;
        Assert.Equal(dir, new HubDownloader(Env(hub, cache), progress).Snapshot(Id("test-org/gated")));
        Assert.Empty(progress.Notes);   // a gated repo's model info is public; its files are all cached
        Assert.Equal(["/api/models/test-org/gated/revision/main"], hub.Requests.Skip(before).Select(r => r.Path));
    }

    [Fact]
    public void A_gated_repos_files_need_the_token_though_its_model_info_is_public()
    {
        using var hub = new FakeHub();
        hub.AddRepo("test-org/gated", SmallModel(), token: "hf_secret");
        Assert.Throws<HubAccessDeniedException>(() => new HubDownloader(Env(hub, TempDir.New("hub"))).Snapshot(Id("test-org/gated")));
        Assert.Contains(hub.Requests, r => r.Path == "/api/models/test-org/gated/revision/main");
        Assert.Contains(hub.Requests, r => r.Method == "HEAD" && r.Path.StartsWith("/test-org/gated/resolve/"));
    }

    [Fact]
    public void A_pinned_commit_with_a_complete_snapshot_asks_the_hub_nothing()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/tiny", SmallModel());
        var cache = TempDir.New("hub");
        var dir = new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny@" + repo.Commit));
        Assert.False(Directory.Exists(Path.Combine(cache, "models--test-org--tiny", "refs")));   // a commit needs no ref
        hub.Requests.Clear();
        Assert.Equal(dir, new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/tiny@" + repo.Commit)));
        Assert.Empty(hub.Requests);
    }

    [Fact]
    public void Revisions_are_quoted_whole_in_the_revision_call()
    {
        using var hub = new FakeHub();
        hub.AddRepo("test-org/tiny", SmallModel());
        Assert.Throws<HubRepoNotFoundException>(() => new HubDownloader(Env(hub, TempDir.New("hub"))).Snapshot(Id("test-org/tiny@refs/pr/1")));
        Assert.Contains(hub.Requests, r => r.Path == "/api/models/test-org/tiny/revision/refs%2Fpr%2F1");
    }

    [Fact]
    public void A_renamed_repo_is_followed_through_its_relative_redirect_with_the_token()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("new-org/tiny", SmallModel(), token: "hf_secret");
        hub.Renamed["old-org/tiny"] = "new-org/tiny";
        var cache = TempDir.New("hub");
        var dir = new HubDownloader(Env(hub, cache, token: "hf_secret")).Snapshot(Id("old-org/tiny"));
        Assert.Equal(Path.Combine(cache, "models--old-org--tiny", "snapshots", repo.Commit), dir);   // cached under the name asked for, as Python does
        Assert.Equal(repo.Files["model.safetensors"], File.ReadAllBytes(Path.Combine(dir, "model.safetensors")));
        Assert.Equal(repo.Files["config.json"], File.ReadAllBytes(Path.Combine(dir, "config.json")));
    }

    static Dictionary<string, byte[]> Sharded()
    {
        var files = SmallModel();
        files.Remove("model.safetensors");
        files[HubFileSelection.IndexFile] = Encoding.UTF8.GetBytes("""
            {"metadata": {"total_size": 2000}, "weight_map": {
              "a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors",
              "c.weight": "model-00001-of-00002.safetensors"}}
            """);
        files["model-00001-of-00002.safetensors"] = Bytes(1000, 2);
        files["model-00002-of-00002.safetensors"] = Bytes(1000, 3);
        files["consolidated.safetensors"] = Bytes(2000, 4);
        foreach (var other in new[] { "pytorch_model.bin", "flax_model.msgpack", "tf_model.h5", "model.onnx", "model.gguf", "training_args.pt", "README.md" })
            files[other] = Bytes(100, 5);
        return files;
    }

    [Fact]
    public void A_sharded_model_fetches_the_index_its_shards_and_metadata_only()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/sharded", Sharded());
        var dir = new HubDownloader(Env(hub, TempDir.New("hub"))).Snapshot(Id("test-org/sharded"));
        Assert.Equal(["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", HubFileSelection.IndexFile, "tokenizer.json"],
            FilesUnder(dir).Order(StringComparer.Ordinal));
        var fetched = hub.Requests.Where(r => r.Path.Contains("/resolve/")).Select(r => r.Path.Split('/').Last()).Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(FilesUnder(dir).Order(StringComparer.Ordinal), fetched);
        Assert.Equal(2, CdnGets(hub).Count);
        Assert.Equal(repo.Files["model-00002-of-00002.safetensors"], File.ReadAllBytes(Path.Combine(dir, "model-00002-of-00002.safetensors")));
    }

    [Fact]
    public void Include_globs_choose_the_files_and_still_never_pickles()
    {
        using var hub = new FakeHub();
        hub.AddRepo("test-org/sharded", Sharded());
        var dir = new HubDownloader(Env(hub, TempDir.New("hub"))).Snapshot(Id("test-org/sharded"), include: ["*.json", "consolidated.*", "*.bin"]);
        Assert.Equal(["config.json", "consolidated.safetensors", HubFileSelection.IndexFile, "tokenizer.json"], FilesUnder(dir).Order(StringComparer.Ordinal));

        var e = Assert.Throws<UserException>(() => new HubDownloader(Env(hub, TempDir.New("hub"))).Snapshot(Id("test-org/sharded"), include: ["*.xyz"]));
        Assert.Contains("test-org/sharded: no file matches *.xyz", e.Message);
    }

    [Fact]
    public void File_names_that_would_leave_the_snapshot_folder_are_never_fetched()
    {
        using var hub = new FakeHub();
        var files = SmallModel();
        files["../../escape.json"] = Encoding.UTF8.GetBytes("{}");
        files["sub/../../../escape2.json"] = Encoding.UTF8.GetBytes("{}");
        hub.AddRepo("test-org/hostile", files);
        var cache = TempDir.New("hub");
        var dir = new HubDownloader(Env(hub, cache)).Snapshot(Id("test-org/hostile"), include: ["**"]);
        Assert.DoesNotContain(FilesUnder(dir), f => f.Contains("escape"));
        Assert.Empty(Directory.EnumerateFiles(Path.GetDirectoryName(cache)!, "escape*.json", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_full_disk_is_not_retried_but_a_dropped_connection_is()
    {
        Assert.False(HubClient.IsTransient(new IOException("No space left on device : '/cache/blobs/abc.incomplete'", 28)));
        Assert.True(HubClient.IsTransient(new IOException("Unable to read data from the transport connection")));
        Assert.True(HubClient.IsTransient(new HttpRequestException("reset")));
    }

    [Fact]
    public void A_repo_with_a_file_and_a_folder_of_one_name_is_one_line()
    {
        using var hub = new FakeHub();
        var files = SmallModel();
        files["extra.json"] = Encoding.UTF8.GetBytes("{}");
        files["extra.json/x.json"] = Encoding.UTF8.GetBytes("{}");
        hub.AddRepo("test-org/clash", files);
        var e = Assert.Throws<UserException>(() => new HubDownloader(Env(hub, TempDir.New("hub"))).Snapshot(Id("test-org/clash"), include: ["**"]));
        Assert.Contains("both a file and a folder named extra.json", e.Message);
    }

    [Fact]
    public void Sibling_names_with_control_characters_are_dropped() =>
        Assert.False(HubCache.IsSafeFilePath("a\u001b[31mRED.json"));

    [Fact]
    public void A_ref_whose_text_is_not_a_commit_is_no_snapshot()
    {
        var cache = new HubCache(TempDir.New("hub"));
        var repo = Id("test-org/tiny");
        Directory.CreateDirectory(Path.GetDirectoryName(cache.RefPath(repo, "main"))!);
        File.WriteAllText(cache.RefPath(repo, "main"), new string('1', 40) + "/../../../../../tmp");
        Assert.Null(cache.CommitFor(repo));
    }

    [Theory]
    [InlineData("abc123", true)]
    [InlineData("..", false)]
    [InlineData("../x", false)]
    [InlineData("a/b", false)]
    [InlineData("", false)]
    public void Cache_names_from_the_server_are_single_safe_components(string name, bool safe) => Assert.Equal(safe, HubCache.IsSafeName(name));

    [Fact]
    public void A_repo_with_only_pickles_says_so()
    {
        using var hub = new FakeHub();
        hub.AddRepo("test-org/pickled", new Dictionary<string, byte[]>
        {
            ["config.json"] = Encoding.UTF8.GetBytes("{}"), ["tokenizer.json"] = Encoding.UTF8.GetBytes("{}"), ["pytorch_model.bin"] = Bytes(100, 6),
        });
        var e = Assert.Throws<UserException>(() => new HubDownloader(Env(hub, TempDir.New("hub"))).Snapshot(Id("test-org/pickled")));
        Assert.Contains("test-org/pickled has no safetensors weights (only pickled .bin/.pt files", e.Message);
        Assert.DoesNotContain(hub.Requests, r => r.Path.EndsWith(".bin") || r.Path.StartsWith("/cdn/"));
    }

    [Fact]
    public void A_repo_that_is_not_a_model_says_what_it_has()
    {
        using var hub = new FakeHub();
        hub.AddRepo("test-org/data", new Dictionary<string, byte[]> { ["train.jsonl"] = Bytes(10, 7) });
        var e = Assert.Throws<UserException>(() => new HubDownloader(Env(hub, TempDir.New("hub"))).Snapshot(Id("test-org/data")));
        Assert.Equal("test-org/data has neither config.json nor adapter_config.json: not a model or adapter LoraLab can load (it has train.jsonl)", e.Message);
    }
}
