using System.Net;
using System.Text.Json;
using Xunit;

namespace LoraLab.Tests.Serving;

/// One `loralab serve` shared by the HTTP test classes (each start loads the model): the demo base, adapter `first`
/// from the start, an --adapter-root holding a copy of `second` (loaded at run time by the tests), an empty folder
/// and a link that leads out of the root; and an API key.
public sealed class ServeHttpFixture : IDisposable
{
    public const string Key = "test-key-0123456789";
    internal ServeProcess Server { get; }
    public string Root { get; }
    public string BaseId => Path.GetFileName(ServedAdapters.Base);

    public ServeHttpFixture()
    {
        Root = TempDir.New("adapter-root");
        CopyFolder(ServedAdapters.Second, Path.Combine(Root, "second"));
        Directory.CreateDirectory(Path.Combine(Root, "empty"));
        Directory.CreateSymbolicLink(Path.Combine(Root, "outside-link"), Path.GetDirectoryName(ServedAdapters.First)!);
        Server = new ServeProcess(["--adapter", $"first={ServedAdapters.First}", "--adapter-root", Root, "--api-key", Key, "--max-batch", "4"], Key);
    }

    internal HttpClient Http => Server.Http;

    internal Task<HttpResponseMessage> Post(string path, object body) => Server.Post(path, body);
    internal Task<HttpResponseMessage> Post(string path, string body) => Server.Post(path, body);

    /// A short greedy completion on the base: the server still answers correctly.
    internal async Task AssertStillServes()
    {
        var r = await Post("/v1/completions", new { model = BaseId, prompt = "the parrot says", max_tokens = 3, temperature = 0 });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var json = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(3, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    public void Dispose() => Server.Dispose();
}

[CollectionDefinition("serve http")]
public sealed class ServeHttpCollection : ICollectionFixture<ServeHttpFixture>;
