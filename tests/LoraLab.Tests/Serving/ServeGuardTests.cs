using LoraLab.Cli.Serve;
using LoraLab.Serving;
using Xunit;

namespace LoraLab.Tests.Serving;

/// The small checks `serve` makes on what it is given: the adapter root's containment, the API key, --adapter and
/// --host values.
public class ServeGuardTests
{
    [Fact]
    public void TheAdapterRootAdmitsOnlyFoldersWhoseRealPathIsInsideIt()
    {
        var top = TempDir.New("root-guard");
        var root = Path.Combine(top, "root");
        Directory.CreateDirectory(Path.Combine(root, "a", "b"));
        Directory.CreateDirectory(Path.Combine(top, "outside"));
        Directory.CreateSymbolicLink(Path.Combine(root, "out"), Path.Combine(top, "outside"));
        Directory.CreateSymbolicLink(Path.Combine(root, "in"), Path.Combine(root, "a"));
        var guard = new AdapterRoot(root);

        Assert.Equal(Path.Combine(guard.Root, "a", "b"), guard.Resolve("a/b"));
        Assert.Equal(Path.Combine(guard.Root, "a", "b"), guard.Resolve("a/../a/b"));
        Assert.Equal(Path.Combine(guard.Root, "a", "b"), guard.Resolve(Path.Combine(root, "a", "b")));
        Assert.Equal(Path.Combine(guard.Root, "a"), guard.Resolve("in"));                      // a link that stays inside
        foreach (var escape in new[] { "../outside", "a/../../outside", Path.Combine(top, "outside"), "out", "out/", "/" })
        {
            var e = Assert.Throws<ServeRequestException>(() => guard.Resolve(escape));
            Assert.Equal((400, "lora_path"), (e.Status, e.Param));
            Assert.Contains("outside the server's --adapter-root", e.Message);
        }
        Assert.Contains("no such folder", Assert.Throws<ServeRequestException>(() => guard.Resolve("missing")).Message);
        Assert.Throws<ServeRequestException>(() => guard.Resolve(""));
        Assert.Contains("no such folder", Assert.Throws<UserException>(() => new AdapterRoot(Path.Combine(top, "nope"))).Message);
    }

    [Fact]
    public void TheApiKeyIsABearerTokenComparedExactly()
    {
        var check = new ApiKeyCheck("s3cret");
        Assert.True(check.Allows("Bearer s3cret"));
        Assert.True(check.Allows("bearer s3cret"));
        Assert.False(check.Allows("Bearer s3cre"));
        Assert.False(check.Allows("Bearer s3cretX"));
        Assert.False(check.Allows("s3cret"));
        Assert.False(check.Allows("Basic s3cret"));
        Assert.False(check.Allows(""));
        Assert.False(check.Allows(null));
    }

    [Fact]
    public void AnAdapterFlagIsNameEqualsFolder()
    {
        Assert.Equal(new AdapterArgument("sql", "runs/b/adapter"), AdapterArgument.Parse("sql=runs/b/adapter"));
        Assert.Equal(new AdapterArgument("x", "org/name@v1=2"), AdapterArgument.Parse("x=org/name@v1=2"));
        foreach (var bad in new[] { "runs/b", "=runs/b", "sql=", " =x", "a b=x" })
            Assert.Contains($"--adapter '{bad}'", Assert.Throws<UserException>(() => AdapterArgument.Parse(bad)).Message);
    }

    [Theory]
    [InlineData("127.0.0.1", true, "http://127.0.0.1:8000")]
    [InlineData("localhost", true, "http://localhost:8000")]
    [InlineData("::1", true, "http://[::1]:8000")]
    [InlineData("0.0.0.0", false, "http://0.0.0.0:8000")]
    [InlineData("::", false, "http://[::]:8000")]
    public void HostsAreLoopbackOrNot(string host, bool loopback, string url)
    {
        var a = ListenAddress.Parse(host);
        Assert.Equal(loopback, a.IsLoopback);
        Assert.Equal(url, a.Url(8000));
    }
}
