using System.Text.Json.Nodes;
using LoraLab.Tests.Adapters;
using Xunit;

namespace LoraLab.Tests.Hub;

/// `loralab` with `--model org/name` against the fake Hub, as a process: the Hub's settings are environment
/// variables (HF_ENDPOINT, HF_HUB_CACHE, HF_HUB_OFFLINE), which are process-wide.
public class HubCliTests : IDisposable
{
    readonly FakeHub _hub = new();
    readonly string _dir = TempDir.New("hubcli");
    string Cache => Path.Combine(_dir, "cache");

    public void Dispose()
    {
        _hub.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    (int Rc, string Out, string Err) Run(bool offline, params string[] args) => CliRunner.RunProcess(new Dictionary<string, string?>
    {
        ["HF_ENDPOINT"] = _hub.Endpoint, ["HF_HUB_CACHE"] = Cache, ["HF_HOME"] = Path.Combine(_dir, "hf-home"),
        ["HF_TOKEN"] = null, ["HF_HUB_OFFLINE"] = offline ? "1" : null, ["HF_HUB_ETAG_TIMEOUT"] = "2", ["HF_HUB_DOWNLOAD_TIMEOUT"] = "2",
    }, args);

    static void AssertOneErrorLine(int rc, string err, string mentions)
    {
        Assert.True(rc == 2, err);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1 && lines[0].StartsWith("error: ") && lines[0].Contains(mentions), err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void Train_eval_and_generate_take_a_hub_id_record_it_and_run_offline_from_the_cache()
    {
        _hub.AddRepo("test-org/tiny", RepoFixtures.Path_("tiny-chat"));
        var run = Path.Combine(_dir, "run");
        var (rc, stdout, err) = Run(false, "train", "--model", "test-org/tiny", "--data", LoraTestModels.Instructions, "--out", run,
            "--max-steps", "2", "--warmup-steps", "0", "--lr", "1e-2", "--batch-size", "2", "--micro-batch-size", "2", "--max-seq-length", "64", "--threads", "2", "--stop-rate-prompts", "0");
        Assert.True(rc == 0, err + stdout);
        Assert.Contains("downloading model.safetensors (", err);   // stderr is a pipe here: one line per file
        var adapter = Path.Combine(run, "adapter");
        Assert.Equal("test-org/tiny", JsonNode.Parse(File.ReadAllText(Path.Combine(adapter, "adapter_config.json")))!["base_model_name_or_path"]!.GetValue<string>());
        Assert.Equal("test-org/tiny", JsonNode.Parse(File.ReadAllText(Path.Combine(adapter, "loralab_adapter.json")))!["base_model"]!.GetValue<string>());
        Assert.Contains("model: test-org/tiny", File.ReadAllText(Path.Combine(run, "run.yaml")));

        (rc, stdout, err) = Run(false, "eval", "--model", "test-org/tiny", "--adapter", adapter, "--data", LoraTestModels.Instructions, "--json");
        Assert.True(rc == 0, err + stdout);
        Assert.NotNull(JsonNode.Parse(stdout)!["perplexity"]);   // stdout is the JSON alone
        Assert.DoesNotContain("downloading", err);                  // the cache answered

        // --offline: not one request to the Hub, though it is up
        int requests = _hub.Requests.Count;
        (rc, stdout, err) = Run(false, "generate", "--model", "test-org/tiny", "--prompt", "Add", "--max-new-tokens", "2", "--offline");
        Assert.True(rc == 0, err + stdout);
        Assert.Equal(requests, _hub.Requests.Count);

        // the server gone and HF_HUB_OFFLINE=1; no --model: the adapter's recorded base, a Hub id, from the cache
        _hub.Stop();
        (rc, stdout, err) = Run(true, "generate", "--adapter", adapter, "--prompt", "Add", "--max-new-tokens", "2");
        Assert.True(rc == 0, err + stdout);
        Assert.Contains("using the adapter's base test-org/tiny", err);
        Assert.DoesNotContain("cannot reach", err);   // offline asked nothing (an unreachable Hub would fall back with a note)
    }

    [Fact]
    public void Download_prints_only_a_snapshot_folder_that_loads_and_a_local_copy_of_plain_files()
    {
        var repo = _hub.AddRepo("test-org/tiny", RepoFixtures.Path_("tiny-chat"));
        var (rc, stdout, err) = Run(false, "download", "test-org/tiny");
        Assert.True(rc == 0, err + stdout);
        var snapshot = stdout.TrimEnd('\n');
        Assert.Equal(Path.Combine(Cache, "models--test-org--tiny", "snapshots", repo.Commit), snapshot);
        Assert.DoesNotContain('\n', snapshot);

        (rc, stdout, err) = Run(false, "generate", "--model", snapshot, "--prompt", "Add", "--max-new-tokens", "2");
        Assert.True(rc == 0, err + stdout);

        var local = Path.Combine(_dir, "local");
        (rc, stdout, err) = Run(false, "download", $"test-org/tiny@{repo.Commit}", "--include", "*.json", "--local-dir", local);
        Assert.True(rc == 0, err + stdout);
        Assert.Equal(Path.GetFullPath(local), stdout.TrimEnd('\n'));
        var config = new FileInfo(Path.Combine(local, "config.json"));
        Assert.True(config.Exists && config.LinkTarget is null);   // a plain file, not a link into the cache
        Assert.Equal(repo.Files["config.json"], File.ReadAllBytes(config.FullName));
        Assert.False(File.Exists(Path.Combine(local, "model.safetensors")));
    }

    [Fact]
    public void Offline_with_an_empty_cache_and_an_unknown_repo_are_one_line_each()
    {
        _hub.AddRepo("test-org/tiny", RepoFixtures.Path_("tiny-chat"));
        var (rc, _, err) = Run(false, "generate", "--model", "test-org/tiny", "--prompt", "Add", "--offline");
        AssertOneErrorLine(rc, err, "test-org/tiny");
        Assert.Contains("offline", err);
        Assert.Contains("refs/main", err);   // what is missing

        (rc, _, err) = Run(false, "eval", "--model", "nope/missing", "--data", LoraTestModels.Instructions);
        AssertOneErrorLine(rc, err, "nope/missing");
        Assert.Contains("no such model repo at revision 'main'", err);   // the Hub's 404, with the revision
    }
}
