using System.Net;
using System.Text.Json;
using Xunit;

namespace LoraLab.Tests.Serving;

/// `stream: true`: server-sent events in OpenAI's chunk shapes whose text, joined, is the non-streamed text; a
/// client that goes away ends its sequence.
[Collection("serve http")]
public class ServeStreamingTests(ServeHttpFixture serve)
{
    /// The `data:` payloads of an event stream, [DONE] included.
    static async Task<List<string>> Events(HttpResponseMessage r)
    {
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("text/event-stream", r.Content.Headers.ContentType?.MediaType);
        var text = await r.Content.ReadAsStringAsync();
        return text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => Assert.IsType<string>(e.StartsWith("data: ") ? e["data: ".Length..] : throw new Xunit.Sdk.XunitException($"not an event: {e}"))).ToList();
    }

    [Fact]
    public async Task StreamedChatTextEqualsTheNonStreamedTextAndChunksFollowOpenAi()
    {
        object Request(bool stream) => new
        {
            model = "first", messages = new[] { new { role = "user", content = "What does the parrot say?" } },
            max_tokens = 40, temperature = 0, stream, stream_options = stream ? new { include_usage = true } : null,
        };
        var whole = JsonDocument.Parse(await (await serve.Post("/v1/chat/completions", Request(false))).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("chat.completion", whole.GetProperty("object").GetString());
        Assert.StartsWith("chatcmpl-", whole.GetProperty("id").GetString());
        var choice = whole.GetProperty("choices")[0];
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        var usage = whole.GetProperty("usage");
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());

        var events = await Events(await serve.Post("/v1/chat/completions", Request(true)));
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var withChoices = chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0).ToList();
        Assert.Equal(choice.GetProperty("finish_reason").GetString(), withChoices[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.All(withChoices[..^1], c => Assert.Equal(JsonValueKind.Null, c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind));
        var streamed = string.Concat(withChoices.Select(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var t) ? t.GetString() : ""));
        Assert.Equal(choice.GetProperty("message").GetProperty("content").GetString(), streamed);
        Assert.True(withChoices.Count >= 3, "the role, the reply, the finish reason");
        // include_usage: a last chunk with no choices and the same usage
        Assert.Equal(usage.GetRawText(), chunks[^1].GetProperty("usage").GetRawText());
    }

    [Fact]
    public async Task StreamedCompletionTextEqualsTheNonStreamedText()
    {
        object Request(bool stream) => new { model = serve.BaseId, prompt = "the parrot says", max_tokens = 30, temperature = 0, stream };
        var whole = JsonDocument.Parse(await (await serve.Post("/v1/completions", Request(false))).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("text_completion", whole.GetProperty("object").GetString());
        Assert.StartsWith("cmpl-", whole.GetProperty("id").GetString());
        Assert.Equal("length", whole.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        var events = await Events(await serve.Post("/v1/completions", Request(true)));
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0]).ToList();
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("text").GetString(), string.Concat(chunks.Select(c => c.GetProperty("text").GetString())));
        Assert.Equal("length", chunks[^1].GetProperty("finish_reason").GetString());
    }

    /// A stream dropped after its first piece is counted as cancelled and leaves the batch.
    [Fact]
    public async Task AClientThatGoesAwayCancelsItsSequence()
    {
        double Cancelled(string metrics) => metrics.Split('\n')
            .Where(l => l.StartsWith("loralab_requests_total{") && l.Contains($"model=\"{serve.BaseId}\"") && l.Contains("finish_reason=\"cancelled\""))
            .Select(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture)).Sum();
        double before = Cancelled(await serve.Http.GetStringAsync("/metrics"));
        // a client of its own that closes the connection on dispose (HttpClient would otherwise read the rest of
        // the response to reuse the connection); the base runs about 65 tokens on this prompt before it ends
        using var client = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = serve.Http.BaseAddress };
        client.DefaultRequestHeaders.Authorization = serve.Http.DefaultRequestHeaders.Authorization;
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { model = serve.BaseId, prompt = "key key key key key", max_tokens = 450, temperature = 0, stream = true }),
                System.Text.Encoding.UTF8, "application/json"),
        };
        using (var r = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await r.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: ", await reader.ReadLineAsync());
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string metrics;
        while (Cancelled(metrics = await serve.Http.GetStringAsync("/metrics")) == before)
        {
            Assert.True(clock.Elapsed.TotalSeconds < 30, "the dropped stream's sequence was not cancelled:\n" + metrics);
            await Task.Delay(100);
        }
        Assert.Contains("loralab_running_requests 0", metrics);
    }
}
