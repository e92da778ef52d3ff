using System.Globalization;
using System.Net;
using Xunit;

namespace LoraLab.Tests.Serving;

/// /metrics in Prometheus text format: requests and tokens by model and finish reason, queue depth, batch size,
/// time to first token and per-token latency.
[Collection("serve http")]
public class ServeMetricsHttpTests(ServeHttpFixture serve)
{
    /// The sum of the samples of `name` whose labels contain every one of `labels`.
    static double Sample(string metrics, string name, params string[] labels) => metrics.Split('\n')
        .Where(l => l.StartsWith(name + "{") || l.StartsWith(name + " "))
        .Where(l => labels.All(l.Contains))
        .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    [Fact]
    public async Task ACompletionIsCountedByModelAndFinishReasonWithItsTokensAndLatencies()
    {
        var response = await serve.Http.GetAsync("/metrics");
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var before = await response.Content.ReadAsStringAsync();
        var r = await serve.Post("/v1/completions", new { model = "first", prompt = "the parrot says", max_tokens = 5, temperature = 0 });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        await serve.Post("/v1/completions", new { model = "first", prompt = "x", temperature = 7 }); // a 400
        var after = await serve.Http.GetStringAsync("/metrics");

        double Delta(string name, params string[] labels) => Sample(after, name, labels) - Sample(before, name, labels);
        const string first = "model=\"first\"";
        Assert.Equal(1, Delta("loralab_requests_total", first));
        Assert.Equal(1, Delta("loralab_requests_total", first, "finish_reason=\"length\""));
        Assert.Equal(5, Delta("loralab_completion_tokens_total", first));
        Assert.True(Delta("loralab_prompt_tokens_total", first) > 0);
        Assert.Equal(1, Delta("loralab_time_to_first_token_seconds_count", first));
        Assert.Equal(4, Delta("loralab_time_per_output_token_seconds_count", first));
        Assert.True(Delta("loralab_decode_batch_size_count") >= 4);
        Assert.Equal(1, Delta("loralab_http_responses_total", "endpoint=\"/v1/completions\"", "status=\"400\""));
        Assert.Equal(0, Sample(after, "loralab_waiting_requests"));
        Assert.Equal(0, Sample(after, "loralab_running_requests"));
        Assert.True(Sample(after, "loralab_kv_cache_bytes") > 0);
        Assert.DoesNotContain("process_cpu_seconds_total", after); // its own registry, not prometheus-net's default
    }
}
