using LoraLab.Hub;
using Xunit;

namespace LoraLab.Tests.Hub;

/// ModelSource reads the process environment, so these tests set HF_ENDPOINT / HF_HUB_CACHE for their length and
/// run in the "cli" collection, apart from the in-process CLI tests that read the same variables.
[Collection("cli")]
public class ModelSourceTests
{
    static T WithHub<T>(FakeHub hub, string cache, Func<T> body)
    {
        string[] names = ["HF_ENDPOINT", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_TOKEN"];
        var saved = names.ToDictionary(n => n, Environment.GetEnvironmentVariable);
        try
        {
            Environment.SetEnvironmentVariable("HF_ENDPOINT", hub.Endpoint);
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", cache);
            Environment.SetEnvironmentVariable("HF_HUB_OFFLINE", null);
            Environment.SetEnvironmentVariable("HF_TOKEN", null);
            return body();
        }
        finally { foreach (var (n, v) in saved) Environment.SetEnvironmentVariable(n, v); }
    }

    [Fact]
    public void An_arch_given_as_a_hub_id_fetches_its_config_alone()
    {
        using var hub = new FakeHub();
        hub.AddRepo("test-org/arch", RepoFixtures.Path_("tiny-chat"));
        var cache = TempDir.New("hub");
        var cfg = WithHub(hub, cache, () => LoraLab.Models.KnownConfigs.Resolve("test-org/arch"));
        Assert.Equal(LoraLab.Models.ModelConfig.Load(Path.Combine(RepoFixtures.Path_("tiny-chat"), "config.json")).HiddenSize, cfg.HiddenSize);
        Assert.DoesNotContain(hub.Requests, r => r.Path.Contains("model.safetensors") || r.Path.StartsWith("/cdn/"));
    }

    [Fact]
    public void An_org_name_that_is_neither_a_folder_nor_a_repo_says_both()
    {
        using var hub = new FakeHub();
        var e = Assert.Throws<UserException>(() => WithHub(hub, TempDir.New("hub"), () => ModelSource.Resolve("test-org/nope")));
        Assert.StartsWith("test-org/nope: no such local folder, and as a Hugging Face Hub repo: test-org/nope: no such model repo at revision 'main'", e.Message);
    }

    [Fact]
    public void An_unreachable_hub_is_one_line_naming_the_value()
    {
        var hub = new FakeHub();
        hub.Stop();
        var e = Assert.Throws<UserException>(() => WithHub(hub, TempDir.New("hub"), () => ModelSource.Resolve("test-org/tiny")));
        Assert.StartsWith("test-org/tiny: no such local folder, and as a Hugging Face Hub repo: cannot reach the Hugging Face Hub", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        hub.Dispose();
    }

    [Fact]
    public void A_repo_resolves_to_its_snapshot_and_a_folder_to_itself()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/resolved", HubTestKit.SmallModel());
        var cache = TempDir.New("hub");
        var dir = WithHub(hub, cache, () => ModelSource.Resolve("test-org/resolved"));
        Assert.Equal(Path.Combine(cache, "models--test-org--resolved", "snapshots", repo.Commit), dir);
        var local = TempDir.New("model");
        Assert.Equal(local, ModelSource.Resolve(local));
        Assert.Null(ModelSource.HubRepo(local));
        Assert.Equal("test-org/resolved", ModelSource.BaseModelName("test-org/resolved@v1"));
        Assert.Equal("v1", ModelSource.BaseModelRevision("test-org/resolved@v1"));
        Assert.Null(ModelSource.BaseModelRevision("test-org/resolved"));
        Assert.Null(ModelSource.BaseModelRevision(local));
        // `--model "$(loralab download org/name)"`: the adapter records the repo and the snapshot's commit, not a cache path
        Assert.Equal("test-org/resolved", ModelSource.BaseModelName(dir));
        Assert.Equal(repo.Commit, ModelSource.BaseModelRevision(dir));
    }

    [Fact]
    public void An_endpoint_that_is_not_an_http_url_is_one_line()
    {
        var e = Assert.Throws<UserException>(() => new HubClient(new HubEnvironment { Endpoint = "hf-mirror.com", CacheDir = TempDir.New("hub") }));
        Assert.Equal("HF_ENDPOINT hf-mirror.com is not an http(s) URL (such as https://huggingface.co)", e.Message);
        Assert.Throws<UserException>(() => new HubClient(new HubEnvironment { Endpoint = "ftp://x/y", CacheDir = TempDir.New("hub") }));
    }
}

/// The base's revision travels in adapter_config.json as PEFT's `revision` field.
public class AdapterRevisionTests
{
    [Fact]
    public void The_revision_is_written_and_read_as_peft_names_it()
    {
        var cfg = new LoraLab.Adapters.LoraConfig { R = 4, Alpha = 8, TargetModules = ["q_proj"], BaseModelNameOrPath = "org/base", Revision = "v1" };
        var json = LoraLab.Adapters.PeftConfigJson.ToJson(cfg);
        Assert.Equal("v1", json["revision"]!.GetValue<string>());
        Assert.Equal("v1", LoraLab.Adapters.PeftConfigJson.FromJson(System.Text.Json.Nodes.JsonNode.Parse(json.ToJsonString())!.AsObject(), "adapter_config.json").Revision);
        Assert.Null(LoraLab.Adapters.PeftConfigJson.ToJson(cfg with { Revision = null })["revision"]);
    }
}
