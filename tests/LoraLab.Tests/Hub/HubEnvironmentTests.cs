using LoraLab.Hub;
using Xunit;

namespace LoraLab.Tests.Hub;

/// The variables huggingface_hub reads, read the same way (from a test's table, not the process environment).
public class HubEnvironmentTests
{
    static HubEnvironment From(Dictionary<string, string> table) => HubEnvironment.From(k => table.GetValueOrDefault(k));

    [Fact]
    public void The_cache_is_hf_hub_cache_else_hf_home_hub()
    {
        var home = TempDir.New("hfhome");
        Assert.Equal(Path.Combine(home, "hub"), From(new() { ["HF_HOME"] = home }).CacheDir);
        Assert.Equal(Path.Combine(home, "elsewhere"), From(new() { ["HF_HOME"] = home, ["HF_HUB_CACHE"] = Path.Combine(home, "elsewhere") }).CacheDir);
        Assert.Equal(Path.Combine(home, "huggingface", "hub"), From(new() { ["XDG_CACHE_HOME"] = home }).CacheDir);
    }

    [Fact]
    public void Variables_in_the_paths_are_expanded_as_python_expands_them()
    {
        var scratch = TempDir.New("hfvars");
        Assert.Equal(Path.Combine(scratch, "hf", "hub"), From(new() { ["SCRATCH"] = scratch, ["HF_HOME"] = "$SCRATCH/hf" }).CacheDir);
        Assert.Equal(Path.Combine(scratch, "c"), From(new() { ["SCRATCH"] = scratch, ["HF_HUB_CACHE"] = "${SCRATCH}/c" }).CacheDir);
        Assert.EndsWith(Path.Combine("$UNSET_HF_VAR", "hub"), From(new() { ["HF_HOME"] = "/tmp/$UNSET_HF_VAR" }).CacheDir);   // left as written
    }

    [Fact]
    public void The_token_comes_from_hf_token_before_the_token_file()
    {
        var home = TempDir.New("hfhome");
        File.WriteAllText(Path.Combine(home, "token"), "hf_from_file\n");
        var fromFile = From(new() { ["HF_HOME"] = home });
        Assert.Equal("hf_from_file", fromFile.Token);
        Assert.Equal(Path.Combine(home, "token"), fromFile.TokenSource);

        var fromVar = From(new() { ["HF_HOME"] = home, ["HF_TOKEN"] = "hf_from_var" });
        Assert.Equal("hf_from_var", fromVar.Token);
        Assert.Equal("HF_TOKEN", fromVar.TokenSource);

        var other = Path.Combine(home, "other-token");
        File.WriteAllText(other, "hf_from_path");
        Assert.Equal("hf_from_path", From(new() { ["HF_HOME"] = home, ["HF_TOKEN_PATH"] = other }).Token);

        var none = From(new() { ["HF_HOME"] = TempDir.New("hfhome") });
        Assert.Null(none.Token);
        Assert.Null(none.TokenSource);
    }

    [Fact]
    public void A_token_from_the_file_reaches_a_gated_repo()
    {
        using var hub = new FakeHub();
        hub.AddRepo("test-org/gated", HubTestKit.SmallModel(), token: "hf_from_file");
        var home = TempDir.New("hfhome");
        File.WriteAllText(Path.Combine(home, "token"), "hf_from_file");
        var env = From(new() { ["HF_HOME"] = home, ["HF_ENDPOINT"] = hub.Endpoint + "/" }) with { Backoff = TimeSpan.FromMilliseconds(5) };
        Assert.Equal(hub.Endpoint, env.Endpoint);
        var dir = new HubDownloader(env).Snapshot(HubTestKit.Id("test-org/gated"));
        Assert.StartsWith(Path.Combine(home, "hub", "models--test-org--gated", "snapshots"), dir);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("true", true)]
    [InlineData("YES", true)]
    [InlineData("on", true)]
    [InlineData("0", false)]
    [InlineData("", false)]
    public void Offline_reads_hf_hub_offline_as_python_does(string value, bool offline)
    {
        Assert.Equal(offline, From(new() { ["HF_HOME"] = "/tmp", ["HF_HUB_OFFLINE"] = value }).Offline);
        Assert.Equal(offline, From(new() { ["HF_HOME"] = "/tmp", ["TRANSFORMERS_OFFLINE"] = value }).Offline);
    }

    [Fact]
    public void Timeouts_come_from_the_variables()
    {
        var env = From(new() { ["HF_HOME"] = "/tmp", ["HF_HUB_ETAG_TIMEOUT"] = "2.5", ["HF_HUB_DOWNLOAD_TIMEOUT"] = "30" });
        Assert.Equal(TimeSpan.FromSeconds(2.5), env.MetadataTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), env.DownloadTimeout);
        Assert.Equal(HubEnvironment.DefaultEndpoint, env.Endpoint);
    }
}
