using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Xunit;

namespace LoraLab.Tests.Serving;

/// Every bad request gets its 4xx and OpenAI's error object (message, type, param, code), and the server goes on
/// answering correctly; the API key guards every endpoint but /health.
[Collection("serve http")]
public class ServeRequestErrorTests(ServeHttpFixture serve)
{
    const string Chat = "/v1/chat/completions", Completions = "/v1/completions";

    public static TheoryData<string, string, int, string?, string?> BadBodies()
    {
        const string base_ = "demo-base";
        string Msgs(string more = "") => $$"""{"model":"first","messages":[{"role":"user","content":"hi"}]{{more}}}""";
        string Prompt(string more = "") => $$"""{"model":"{{base_}}","prompt":"the parrot"{{more}}}""";
        return new()
        {
            { Chat, "{\"model\":", 400, null, null },                                   // malformed JSON
            { Chat, "[1,2]", 400, null, null },                                          // not an object
            { Chat, """{"messages":[{"role":"user","content":"hi"}]}""", 400, "model", null },
            { Chat, """{"model":"first"}""", 400, "messages", null },
            { Chat, """{"model":7,"messages":[{"role":"user","content":"hi"}]}""", 400, "model", null },
            { Chat, """{"model":"first","messages":"hi"}""", 400, "messages", null },
            { Chat, """{"model":"first","messages":[]}""", 400, "messages", null },
            { Chat, """{"model":"first","messages":[{"role":"wizard","content":"hi"}]}""", 400, "messages[0].role", null },
            { Chat, """{"model":"first","messages":[{"role":"user"}]}""", 400, "messages[0].content", null },
            { Chat, """{"model":"first","messages":[{"role":"user","content":[{"type":"image_url"}]}]}""", 400, "messages[0].content[0].type", null },
            { Chat, """{"model":"nobody","messages":[{"role":"user","content":"hi"}]}""", 404, "model", "model_not_found" },
            { Chat, Msgs(""","max_tokens":-1"""), 400, "max_tokens", null },
            { Chat, Msgs(""","max_tokens":"ten" """), 400, "max_tokens", null },
            { Chat, Msgs(""","max_tokens":2.5"""), 400, "max_tokens", null },
            { Chat, Msgs(""","max_completion_tokens":0"""), 400, "max_completion_tokens", null },
            { Chat, Msgs(""","max_tokens":100000"""), 400, "max_tokens", "context_length_exceeded" },
            { Chat, Msgs(""","temperature":2.5"""), 400, "temperature", null },
            { Chat, Msgs(""","temperature":-0.1"""), 400, "temperature", null },
            { Chat, Msgs(""","temperature":NaN"""), 400, null, null },                  // not JSON
            { Chat, Msgs(""","top_p":0"""), 400, "top_p", null },
            { Chat, Msgs(""","top_p":1.5"""), 400, "top_p", null },
            { Chat, Msgs(""","seed":"x" """), 400, "seed", null },
            { Chat, Msgs(""","stop":5"""), 400, "stop", null },
            { Chat, Msgs(""","stop":["a",3]"""), 400, "stop[1]", null },
            { Chat, Msgs(""","n":2"""), 400, "n", null },
            { Chat, Msgs(""","stream":"yes" """), 400, "stream", null },
            { Completions, """{"model":"demo-base"}""", 400, "prompt", null },
            { Completions, """{"model":"demo-base","prompt":[1,2,3]}""", 400, "prompt", null },
            { Completions, Prompt(""","max_tokens":100000"""), 400, "max_tokens", "context_length_exceeded" },
            { Completions, $$"""{"model":"demo-base","prompt":"{{string.Concat(Enumerable.Repeat("the parrot says key. ", 200))}}"}""", 400, "prompt", "context_length_exceeded" },
            { Completions, Prompt(""","stop":""" + "\"\""), 400, "stop", null },
            { Chat, """{"model":"demo-base","messages":[{"role":"user","content":"hi"}]}""", 400, "messages", null }, // the base has no chat template
            { "/v1/load_lora_adapter", """{"lora_name":"x"}""", 400, "lora_path", null },
            { "/v1/unload_lora_adapter", """{"lora_name":"never-loaded"}""", 404, "lora_name", "model_not_found" },
            { "/v1/unload_lora_adapter", $$"""{"lora_name":"{{base_}}"}""", 400, "lora_name", null },
            // a \u escape of a lone surrogate is valid JSON but no string: 400, not the 500 of a fault
            { Completions, """{"model":"demo-base","prompt":"\ud800"}""", 400, null, null },
            { Completions, """{"model":"\ud800","prompt":"hi"}""", 400, null, null },
            { Chat, """{"model":"first","messages":[{"role":"user","content":"hi \udc00"}]}""", 400, null, null },
            { Completions, Prompt(""","stop":["\ud800"]"""), 400, null, null },
            { "/v1/load_lora_adapter", """{"lora_name":"x","lora_path":"\ud800"}""", 400, null, null },
            // a run-time adapter name follows --adapter's rule: no spaces or line breaks (they would forge log lines)
            { "/v1/load_lora_adapter", """{"lora_name":"a b","lora_path":"second"}""", 400, "lora_name", null },
            { "/v1/load_lora_adapter", """{"lora_name":"x\nloaded adapter evil","lora_path":"second"}""", 400, "lora_name", null },
        };
    }

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task ABadRequestGetsItsStatusAndErrorObjectAndTheServerGoesOn(string path, string body, int status, string? param, string? code)
    {
        var r = await serve.Post(path, body);
        var error = await AssertError(r, status);
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        await serve.AssertStillServes();
    }

    [Fact]
    public async Task ABodyOverTheLimitGets413WithTheErrorObject()
    {
        var big = """{"model":"demo-base","prompt":"x""" + new string(' ', 1_100_000) + "\"}";
        // Expect: 100-continue, as curl sends a body this large: the refusal comes before the body is sent (a client
        // that sends it anyway may see the connection close under it, as with any server that refuses early)
        using var request = new HttpRequestMessage(HttpMethod.Post, Completions) { Content = new StringContent(big, Encoding.UTF8, "application/json") };
        request.Headers.ExpectContinue = true;
        var error = await AssertError(await serve.Http.SendAsync(request), 413);
        Assert.Contains("larger than", error.GetProperty("message").GetString());
        await serve.AssertStillServes();
    }

    [Fact]
    public async Task AnUnknownRouteIs404WithTheErrorObject()
    {
        await AssertError(await serve.Http.GetAsync("/v1/nothing"), 404);
    }

    [Fact]
    public async Task AWrongOrMissingKeyIs401OnEveryEndpointButHealth()
    {
        using var anonymous = new HttpClient { BaseAddress = serve.Server.Http.BaseAddress };
        Assert.Equal("ok", await anonymous.GetStringAsync("/health"));
        foreach (var path in new[] { "/v1/models", "/metrics" })
        {
            var error = await AssertError(await anonymous.GetAsync(path), 401);
            Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        }
        using var wrong = new HttpClient { BaseAddress = serve.Server.Http.BaseAddress };
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServeHttpFixture.Key + "x");
        await AssertError(await wrong.PostAsync(Completions, new StringContent("""{"model":"demo-base","prompt":"a","max_tokens":1}""", Encoding.UTF8, "application/json")), 401);
        await AssertError(await wrong.GetAsync("/v1/models"), 401);
        Assert.Equal(HttpStatusCode.OK, (await serve.Http.GetAsync("/v1/models")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await serve.Http.GetAsync("/metrics")).StatusCode);
    }

    /// Bad requests sent while a long completion decodes neither stop it nor change its text.
    [Fact]
    public async Task BadRequestsDoNotDisturbACompletionInFlight()
    {
        var request = new { model = "first", messages = new[] { new { role = "user", content = "What does the parrot say?" } }, max_tokens = 60, temperature = 0 };
        var alone = await Text(await serve.Post(Chat, request));
        var during = serve.Post(Chat, request);
        var bad = BadBodies().Select(row => serve.Post((string)row[0], (string)row[1])).ToList();
        foreach (var r in await Task.WhenAll(bad)) Assert.True((int)r.StatusCode is >= 400 and < 500, $"{r.StatusCode}");
        Assert.Equal(alone, await Text(await during));
    }

    static async Task<string> Text(HttpResponseMessage r)
    {
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
    }

    /// The response is `status` with OpenAI's error object; returns its `error`.
    internal static async Task<JsonElement> AssertError(HttpResponseMessage r, int status)
    {
        var body = await r.Content.ReadAsStringAsync();
        Assert.True((int)r.StatusCode == status, $"expected {status}, got {(int)r.StatusCode}: {body}");
        Assert.Equal("application/json", r.Content.Headers.ContentType?.MediaType);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Equal(status >= 500 ? "server_error" : "invalid_request_error", error.GetProperty("type").GetString());
        Assert.True(error.TryGetProperty("param", out _) && error.TryGetProperty("code", out _));
        return error;
    }
}
