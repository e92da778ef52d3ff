using LoraLab.Serving;
using Prometheus;

namespace LoraLab.Cli.Serve;

/// /metrics: the engine's counts and latencies on a Prometheus registry of this server's own (not prometheus-net's
/// static default, so two servers in one process never mix). The engine feeds it from its thread
/// (IServeObserver); queue depth and batch size are read from the engine when scraped, so they are never stale.
public sealed class ServeMetrics : IServeObserver
{
    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();
    readonly Counter _requests, _promptTokens, _completionTokens, _responses;
    readonly Histogram _firstToken, _perToken, _batch;
    readonly Gauge _waiting, _running, _cacheBytes;

    public ServeMetrics()
    {
        var f = Metrics.WithCustomRegistry(Registry);
        _requests = f.CreateCounter("loralab_requests_total", "Completions ended, by model (base or adapter) and finish reason (stop, length, cancelled).", ["model", "finish_reason"]);
        _promptTokens = f.CreateCounter("loralab_prompt_tokens_total", "Prompt tokens of ended completions, by model.", ["model"]);
        _completionTokens = f.CreateCounter("loralab_completion_tokens_total", "Generated tokens of ended completions, by model.", ["model"]);
        _responses = f.CreateCounter("loralab_http_responses_total", "HTTP responses by endpoint and status (refusals included).", ["endpoint", "status"]);
        var seconds = Histogram.ExponentialBuckets(0.001, 2, 16); // 1 ms .. 33 s
        _firstToken = f.CreateHistogram("loralab_time_to_first_token_seconds", "From a request's acceptance to its first generated token (queueing and prefill), by model.",
            ["model"], new HistogramConfiguration { Buckets = seconds });
        _perToken = f.CreateHistogram("loralab_time_per_output_token_seconds", "Between consecutive generated tokens of one completion, by model.",
            ["model"], new HistogramConfiguration { Buckets = seconds });
        _batch = f.CreateHistogram("loralab_decode_batch_size", "Sequences decoded together in one forward pass, per decode step.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 2, 9) }); // 1 .. 256
        _waiting = f.CreateGauge("loralab_waiting_requests", "Requests accepted and waiting for a batch slot (queue depth).");
        _running = f.CreateGauge("loralab_running_requests", "Sequences in the running batch.");
        _cacheBytes = f.CreateGauge("loralab_kv_cache_bytes", "Bytes of the KV cache allocated for every batch slot.");
    }

    /// Reads queue depth, batch size and cache size from `engine` at every scrape.
    public void Watch(ServeEngine engine)
    {
        _cacheBytes.Set(engine.CacheBytes);
        Registry.AddBeforeCollectCallback(() =>
        {
            _waiting.Set(engine.Waiting);
            _running.Set(engine.Running);
        });
    }

    public void Response(string endpoint, int status) => _responses.WithLabels(endpoint, status.ToString()).Inc();

    public Task WriteText(Stream output, CancellationToken cancel) => Registry.CollectAndExportAsTextAsync(output, cancel);

    void IServeObserver.Step(int batchSize, int waiting) => _batch.Observe(batchSize);
    void IServeObserver.FirstToken(string model, double secondsSinceSubmit) => _firstToken.WithLabels(model).Observe(secondsSinceSubmit);
    void IServeObserver.NextToken(string model, double secondsSincePrevious) => _perToken.WithLabels(model).Observe(secondsSincePrevious);

    void IServeObserver.Finished(string model, int promptTokens, int completionTokens, FinishReason reason)
    {
        _requests.WithLabels(model, reason.ToString().ToLowerInvariant()).Inc();
        _promptTokens.WithLabels(model).Inc(promptTokens);
        _completionTokens.WithLabels(model).Inc(completionTokens);
    }
}
