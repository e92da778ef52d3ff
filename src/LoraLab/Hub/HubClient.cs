using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;

namespace LoraLab.Hub;

/// The few calls of the Hub's HTTP interface that huggingface_hub makes to fetch a snapshot: the revision API for the
/// commit and file list, a HEAD on each file's resolve URL for its ETag, size and location, and a GET of the bytes
/// (with Range to resume). Relative redirects (a renamed repo) are followed with the token; an absolute one (the
/// CDN) is where the bytes are, and gets the token only when it is the endpoint's own host. 5xx, 429 and dropped
/// connections are retried with backoff; a connection that cannot be made at all is a HubUnreachableException.
public sealed class HubClient : IDisposable
{
    readonly HubEnvironment env;
    readonly HttpClient http;

    public HubClient(HubEnvironment env)
    {
        this.env = env;
        if (!Uri.TryCreate(env.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
            throw new UserException($"HF_ENDPOINT {env.Endpoint} is not an http(s) URL (such as {HubEnvironment.DefaultEndpoint})");
        http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = env.MetadataTimeout,
        }) { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.UserAgent.ParseAdd($"loralab/{typeof(HubClient).Assembly.GetName().Version?.ToString(3) ?? "0"}");
    }

    public void Dispose() => http.Dispose();

    /// GET {endpoint}/api/models/{repo}/revision/{revision}: the commit and the files.
    public HubRevisionInfo Revision(HubRepoId repo)
    {
        var url = $"{env.Endpoint}/api/models/{repo.Id}/revision/{Uri.EscapeDataString(repo.Revision)}";
        using var response = Send(HttpMethod.Get, url, repo, file: null, env.MetadataTimeout);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(response.Content.ReadAsStream()); }
        catch (JsonException) { throw NotAHub(url); }
        using var _ = doc;
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("sha", out var sha) || sha.ValueKind != JsonValueKind.String)
            throw NotAHub(url);
        if (!HubCache.IsSafeName(sha.GetString()!))
            throw new UserException($"{url}: the commit \"{sha.GetString()}\" is not a commit hash; refusing to use it as a cache folder");
        var files = new List<string>();
        if (root.TryGetProperty("siblings", out var siblings) && siblings.ValueKind == JsonValueKind.Array)
            foreach (var s in siblings.EnumerateArray())
                if (s.ValueKind == JsonValueKind.Object && s.TryGetProperty("rfilename", out var f) && f.ValueKind == JsonValueKind.String && f.GetString() is { Length: > 0 } name && HubCache.IsSafeFilePath(name)) files.Add(name);
        return new HubRevisionInfo(sha.GetString()!, files);
    }

    UserException NotAHub(string url) =>
        new($"{url}: the answer is not the Hub's (no JSON with a commit \"sha\"); is HF_ENDPOINT ({env.Endpoint}) a Hugging Face Hub, or is a proxy answering in its place?");

    /// HEAD {endpoint}/{repo}/resolve/{commit}/{file}: ETag, size and location of one file.
    public HubFileInfo Metadata(HubRepoId repo, string commit, string file)
    {
        var url = ResolveUrl(repo, commit, file);
        using var response = Send(HttpMethod.Head, url, repo, file, env.MetadataTimeout);
        var h = response.Headers;
        string? linkedEtag = Header(response, "X-Linked-Etag"), etag = linkedEtag ?? Header(response, "ETag");
        if (etag is null) throw new UserException($"{repo}: the Hub sent no ETag for {file}; cannot place it in the cache");
        long? size = long.TryParse(Header(response, "X-Linked-Size"), out var s) ? s
            : IsRedirect(response.StatusCode) ? null : response.Content.Headers.ContentLength;
        var location = IsRedirect(response.StatusCode) && h.Location is { } loc ? new Uri(response.RequestMessage!.RequestUri!, loc).ToString()
            : response.RequestMessage!.RequestUri!.ToString();
        etag = NormalizeEtag(etag);
        if (!HubCache.IsSafeName(etag)) throw new UserException($"{repo}: the ETag the Hub sent for {file} ({etag}) cannot name a file in the cache; refusing it");
        return new HubFileInfo(file, etag, size, location, Header(response, "X-Repo-Commit"));
    }

    /// Appends the bytes at `location` to `target` from its current length on (Range), calling `advance` per chunk.
    /// A server that ignores Range (200) starts the file again. A dropped connection is retried from where it broke.
    public void Download(HubRepoId repo, string file, string location, FileStream target, long? size, Action<long> advance)
    {
        for (int attempt = 1; ; attempt++)
        {
            long before = target.Length;
            try
            {
                DownloadOnce(repo, file, location, target, size, advance);
                return;
            }
            catch (Exception e) when (IsTransient(e) && attempt < env.Attempts)
            {
                if (target.Length > before) attempt = 0;   // a connection that moved the file on is not a failed try (as huggingface_hub counts)
                else Thread.Sleep(Delay(attempt));
            }
            catch (Exception e) when (IsTransient(e))
            {
                throw new UserException($"{repo}: downloading {file} failed {env.Attempts} times ({Describe(e)}); run the command again to resume it", e);
            }
        }
    }

    void DownloadOnce(HubRepoId repo, string file, string location, FileStream target, long? size, Action<long> advance)
    {
        long offset = target.Length;
        if (size is long total && offset == total) return;
        using var request = new HttpRequestMessage(HttpMethod.Get, location);
        Authorize(request, location);
        if (offset > 0) request.Headers.Range = new RangeHeaderValue(offset, null);
        using var cts = new CancellationTokenSource(env.DownloadTimeout);
        using var response = SendFollowing(request, cts.Token);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && offset > 0 && size is null) return;
        if ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests) throw new TransientStatus(response.StatusCode);
        if (!IsEndpointHost(response.RequestMessage!.RequestUri!) && !response.IsSuccessStatusCode)
            throw new HubLocationRefusedException($"{repo}: the download server {response.RequestMessage.RequestUri!.Host} refused {file} " +
                $"(HTTP {(int)response.StatusCode} {response.ReasonPhrase}); its signed link may have expired");
        Check(response, repo, file);
        if (response.StatusCode != HttpStatusCode.PartialContent && offset > 0)
        {
            advance(-offset);
            target.SetLength(0);
        }
        target.Seek(0, SeekOrigin.End);
        using var body = response.Content.ReadAsStream(cts.Token);
        var buffer = new byte[1 << 20];
        while (true)
        {
            cts.CancelAfter(env.DownloadTimeout);   // the timeout is per read: a slow but moving download goes on
            int n = body.ReadAsync(buffer, cts.Token).AsTask().GetAwaiter().GetResult();
            if (n == 0) break;
            target.Write(buffer, 0, n);
            advance(n);
        }
        target.Flush(flushToDisk: true);
        if (size is long expected && target.Length < expected)
            throw new IOException($"the connection closed after {target.Length} of {expected} bytes");
    }

    public string ResolveUrl(HubRepoId repo, string commit, string file) =>
        $"{env.Endpoint}/{repo.Id}/resolve/{Uri.EscapeDataString(commit)}/{string.Join('/', file.Split('/').Select(Uri.EscapeDataString))}";

    /// One request with retries; an HTTP error becomes the user's one line.
    HttpResponseMessage Send(HttpMethod method, string url, HubRepoId repo, string? file, TimeSpan timeout)
    {
        for (int attempt = 1; ; attempt++)
        {
            HttpResponseMessage? response = null;
            try
            {
                using var request = new HttpRequestMessage(method, url);
                Authorize(request, url);
                request.Headers.AcceptEncoding.ParseAdd("identity");
                using var cts = new CancellationTokenSource(timeout);
                response = SendFollowing(request, cts.Token, keepAbsoluteRedirect: method == HttpMethod.Head);
                if ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests) throw new TransientStatus(response.StatusCode);
                if (!IsRedirect(response.StatusCode)) Check(response, repo, file);
                if (method == HttpMethod.Get) response.Content.LoadIntoBufferAsync(cts.Token).GetAwaiter().GetResult();   // a body that stalls times out too
                return response;
            }
            catch (Exception e) when (IsTransient(e) && attempt < env.Attempts && !IsUnreachable(e))
            {
                response?.Dispose();
                Thread.Sleep(Delay(attempt));
            }
            catch (Exception e) when (IsTransient(e))
            {
                response?.Dispose();
                if (IsUnreachable(e))
                    throw new HubUnreachableException($"cannot reach the Hugging Face Hub at {env.Endpoint} ({Describe(e)}); " +
                        "to use models already in the cache, set HF_HUB_OFFLINE=1 or pass --offline", e);
                // A Hub that is down (5xx) or does not answer in time is as good as unreachable: huggingface_hub then
                // uses a cached snapshot too.
                throw new HubUnreachableException($"{repo}: {url} failed {env.Attempts} times ({Describe(e)}); the Hub may be down, run again later", e);
            }
            catch { response?.Dispose(); throw; }
        }
    }

    /// Sends, following relative redirects with the same headers (at most 10); an absolute redirect ends the chain
    /// for HEAD (its Location and X-Linked-* headers are the answer) and is followed for GET.
    HttpResponseMessage SendFollowing(HttpRequestMessage request, CancellationToken ct, bool keepAbsoluteRedirect = false)
    {
        var current = request;
        for (int hop = 0; ; hop++)
        {
            var response = http.Send(current, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!IsRedirect(response.StatusCode) || response.Headers.Location is not { } loc || hop == 10) return response;
            bool relative = !loc.IsAbsoluteUri || loc.Host == current.RequestUri!.Host && loc.Port == current.RequestUri.Port;
            if (!relative && keepAbsoluteRedirect) return response;
            var next = new HttpRequestMessage(current.Method, new Uri(current.RequestUri!, loc));
            foreach (var header in current.Headers)
                if (header.Key != "Authorization") next.Headers.TryAddWithoutValidation(header.Key, header.Value);
            Authorize(next, next.RequestUri!.ToString());
            response.Dispose();
            current = next;
        }
    }

    /// The token goes to the endpoint's host only, never to a CDN or another site a redirect names.
    void Authorize(HttpRequestMessage request, string url)
    {
        if (env.Token is not null && Uri.TryCreate(url, UriKind.Absolute, out var target) && IsEndpointHost(target))
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", env.Token);
    }

    bool IsEndpointHost(Uri target) =>
        Uri.TryCreate(env.Endpoint, UriKind.Absolute, out var endpoint)
        && string.Equals(target.Host, endpoint.Host, StringComparison.OrdinalIgnoreCase) && target.Port == endpoint.Port;

    /// The Hub's errors as huggingface_hub reads them, each one line naming the repo and revision. X-Error-Code
    /// decides first: RevisionNotFound, EntryNotFound, GatedRepo, RepoNotFound (which the Hub sends with 401 to a
    /// caller without a token, for a missing repo and a private one alike); then 401 with bad credentials or 403
    /// (a token that may not read it), 404 (no such file, or no such repo).
    void Check(HttpResponseMessage response, HubRepoId repo, string? file)
    {
        if (response.IsSuccessStatusCode) return;
        var code = Header(response, "X-Error-Code");
        var serverMessage = Header(response, "X-Error-Message");
        int status = (int)response.StatusCode;
        string detail = $"HTTP {status}{(serverMessage is null ? "" : ": " + serverMessage)}";
        string page = $"{env.Endpoint}/{repo.Id}";
        if (code == "RevisionNotFound")
            throw new HubRepoNotFoundException($"{repo.Id}: revision '{repo.Revision}' not found on {env.Endpoint}", revision: true);
        if (code == "EntryNotFound" || status == 404 && file is not null && code != "RepoNotFound")
            throw new UserException($"{repo}: no file {file} at revision '{repo.Revision}' ({detail})");
        if (code == "GatedRepo" || status == 403 || status == 401 && env.Token is not null && code != "RepoNotFound")
            throw new HubAccessDeniedException(env.Token is null
                ? $"{repo} is gated or private and no token was given: create one at https://huggingface.co/settings/tokens, " +
                  $"set HF_TOKEN to it (or run `huggingface-cli login`), and accept the model's licence on its page ({page})"
                : $"{repo}: the token from {env.TokenSource} is not allowed to read this repo ({detail}); " +
                  $"if it is gated, accept its licence on {page} with the account the token belongs to");
        if (code == "RepoNotFound" || status is 401 or 404)
            throw new HubRepoNotFoundException($"{repo.Id}: no such model repo at revision '{repo.Revision}' on {env.Endpoint} " + (env.Token is null
                ? "(if it is private or gated: set HF_TOKEN, or run `huggingface-cli login`, and accept its licence on its page)"
                : $"(or it is private and the token from {env.TokenSource} cannot read it)"));
        throw new UserException($"{(file is null ? repo.ToString() : $"{file} in {repo}")}: the Hub answered HTTP {status} {response.ReasonPhrase}{(serverMessage is null ? "" : ": " + serverMessage)}");
    }

    sealed class TransientStatus(HttpStatusCode code) : Exception($"HTTP {(int)code}");

    /// Worth another try: a 5xx or 429, a dropped or timed-out connection; never a full or read-only disk.
    public static bool IsTransient(Exception e) =>
        e is TransientStatus or HttpRequestException or OperationCanceledException || e is IOException && LoraLab.IO.StorageErrors.From(e) is null;

    /// No connection at all (as opposed to one that dropped, or an answer that was an error).
    static bool IsUnreachable(Exception e) =>
        e is HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError }
        || e is HttpRequestException && e.InnerException is SocketException;

    static string Describe(Exception e) => e switch
    {
        OperationCanceledException => "timed out",
        HttpRequestException { InnerException: { } inner } => inner.Message,
        _ => e.Message,
    };

    TimeSpan Delay(int attempt) => env.Backoff * Math.Pow(2, attempt - 1);

    static bool IsRedirect(HttpStatusCode code) => (int)code is >= 300 and < 400;

    static string? Header(HttpResponseMessage r, string name) =>
        r.Headers.TryGetValues(name, out var v) || r.Content.Headers.TryGetValues(name, out v) ? v.FirstOrDefault() : null;

    /// `W/"abc"` and `"abc"` are both `abc`, as huggingface_hub names blobs.
    public static string NormalizeEtag(string etag)
    {
        var e = etag.Trim();
        if (e.StartsWith("W/")) e = e[2..];
        return e.Trim('"');
    }
}
