using System.Net;
using System.Text.Json;
using Xunit;

namespace LoraLab.Tests.Serving;

/// /v1/models, and adapters loaded and unloaded while serving: only from folders under --adapter-root.
[Collection("serve http")]
public class ServeAdapterHttpTests(ServeHttpFixture serve)
{
    async Task<List<string>> ModelIds()
    {
        var json = JsonDocument.Parse(await serve.Http.GetStringAsync("/v1/models")).RootElement;
        Assert.Equal("list", json.GetProperty("object").GetString());
        return json.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!).ToList();
    }

    Task<HttpResponseMessage> Chat(string model) => serve.Post("/v1/chat/completions",
        new { model, messages = new[] { new { role = "user", content = "What does the parrot say?" } }, max_tokens = 12, temperature = 0 });

    [Fact]
    public async Task ModelsListTheBaseFirstThenTheAdaptersWithTheBaseAsParent()
    {
        var json = JsonDocument.Parse(await serve.Http.GetStringAsync("/v1/models")).RootElement.GetProperty("data");
        Assert.Equal(serve.BaseId, json[0].GetProperty("id").GetString());
        Assert.Equal(JsonValueKind.Null, json[0].GetProperty("parent").ValueKind);
        var first = json.EnumerateArray().Single(m => m.GetProperty("id").GetString() == "first");
        Assert.Equal("model", first.GetProperty("object").GetString());
        Assert.Equal(serve.BaseId, first.GetProperty("parent").GetString());
        Assert.True(first.GetProperty("created").GetInt64() > 0);
    }

    [Fact]
    public async Task AnAdapterLoadedAtRunTimeIsListedAndServedAndAfterUnloadingIs404WhileOthersGoOn()
    {
        var r = await serve.Post("/v1/load_lora_adapter", new { lora_name = "second-rt", lora_path = "second" });
        Assert.True(r.StatusCode == HttpStatusCode.OK, await r.Content.ReadAsStringAsync());
        Assert.Contains("second-rt", await ModelIds());
        var answer = await Chat("second-rt");
        var body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("second-rt", body.GetProperty("model").GetString());
        Assert.True(body.GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);
        // the same name twice is refused
        await ServeRequestErrorTests.AssertError(await serve.Post("/v1/load_lora_adapter", new { lora_name = "second-rt", lora_path = "second" }), 400);

        r = await serve.Post("/v1/unload_lora_adapter", new { lora_name = "second-rt" });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.DoesNotContain("second-rt", await ModelIds());
        var gone = await ServeRequestErrorTests.AssertError(await Chat("second-rt"), 404);
        Assert.Equal("model_not_found", gone.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Chat("first")).StatusCode);
    }

    /// `..`, an absolute path elsewhere, a link inside the root that leads out, a missing folder and a folder that is
    /// not an adapter: each a 400 on lora_path, nothing loaded.
    [Fact]
    public async Task PathsOutsideTheRootOrNotAdaptersAreRefused()
    {
        var outside = ServedAdapters.First;
        foreach (var path in new[] { "../" + Path.GetFileName(outside), "second/../../x", outside, Path.Combine(serve.Root, "outside-link", "adapter"), "outside-link/adapter", "missing", "empty" })
        {
            var error = await ServeRequestErrorTests.AssertError(await serve.Post("/v1/load_lora_adapter", new { lora_name = "escape", lora_path = path }), 400);
            Assert.Equal("lora_path", error.GetProperty("param").GetString());
        }
        Assert.DoesNotContain("escape", await ModelIds());
        // an absolute path inside the root is fine
        var r = await serve.Post("/v1/load_lora_adapter", new { lora_name = "second-abs", lora_path = Path.Combine(serve.Root, "second") });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await serve.Post("/v1/unload_lora_adapter", new { lora_name = "second-abs" })).StatusCode);
    }
}
