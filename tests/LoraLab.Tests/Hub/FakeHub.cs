using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LoraLab.Tests.Hub;

/// A Hugging Face Hub for tests, on 127.0.0.1: the paths, headers and redirects huggingface_hub relies on.
///   GET  /api/models/{org}/{name}/revision/{rev}   {"id", "sha", "siblings": [{"rfilename"}]}
///   HEAD/GET /{org}/{name}/resolve/{rev}/{file}    small files: 200 with ETag = git blob hash and X-Repo-Commit;
///        LFS files (*.safetensors, tokenizer.model): 302 to the "CDN" with X-Linked-Etag = sha256, X-Linked-Size
///   GET  /cdn/{sha256}                              the bytes, on another host name (localhost), with Range (206)
/// Errors as the Hub sends them (RepoNotFound: 401 without a token, as the Hub hides private repos, 404 with one;
/// 404 RevisionNotFound / EntryNotFound; 401 GatedRepo), a renamed repo (307 to a relative Location), and faults to
/// inject: a cut connection, corrupted bytes, 5xx answers, a CDN that ignores Range, a size announced wrong, a
/// server that hangs, an unreachable server (Stop).
sealed class FakeHub : IDisposable
{
    public sealed record Repo(string Id, string Commit, Dictionary<string, byte[]> Files, string? RequiredToken);

    /// One request as it arrived (method, path, Authorization and Range headers).
    public sealed record Request(string Method, string Path, string? Authorization, string? Range);

    readonly HttpListener listener = new();
    readonly ConcurrentDictionary<string, Repo> repos = new();
    readonly Thread loop;

    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}";
    public ConcurrentQueue<Request> Requests { get; } = new();

    /// The next N byte downloads of this file (by name) stop after half the bytes, the connection aborted.
    public ConcurrentDictionary<string, int> CutFile { get; } = new();
    /// Files served with one byte changed (the ETag still announces the true hash).
    public ConcurrentDictionary<string, bool> CorruptFile { get; } = new();
    /// The next N requests of any kind answer 503.
    public int Fail5xx;
    /// Bytes per second of CDN downloads (0: unthrottled), so a test can catch a download half-way.
    public int ThrottleBytesPerSecond;
    /// While not set, CDN downloads wait before their first byte (a test holds a download open for as long as it needs).
    public ManualResetEventSlim? HoldCdn;
    /// The CDN answers every GET with 200 and all the bytes, Range or not.
    public bool IgnoreRange;
    /// Milliseconds every request waits before it is answered (a hanging server, for timeouts).
    public int DelayMs;
    /// X-Linked-Size announced for a file in place of its true size.
    public ConcurrentDictionary<string, long> AnnouncedSize { get; } = new();
    /// Old repo id -> new id: requests for the old one are redirected (307, relative Location) as the Hub does.
    public ConcurrentDictionary<string, string> Renamed { get; } = new();

    public FakeHub()
    {
        Port = FreePort();
        listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        listener.Prefixes.Add($"http://localhost:{Port}/");
        listener.Start();
        loop = new Thread(Serve) { IsBackground = true, Name = "FakeHub" };
        loop.Start();
    }

    /// Serves the files of `folder` (top level) as repo `id` at a new commit; with `token`, the repo is gated.
    public Repo AddRepo(string id, string folder, string? token = null, string branch = "main")
    {
        var files = Directory.EnumerateFiles(folder).ToDictionary(Path.GetFileName, File.ReadAllBytes)!;
        return AddRepo(id, files!, token);
    }

    public Repo AddRepo(string id, Dictionary<string, byte[]> files, string? token = null)
    {
        var commit = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(id + string.Join(",", files.Keys) + Guid.NewGuid())));
        var repo = new Repo(id, commit, files, token);
        repos[id] = repo;
        return repo;
    }

    public static bool IsLfs(string file) => file.EndsWith(".safetensors") || file.EndsWith(".model") || file.EndsWith(".bin");

    public static string Sha256(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    public static string GitBlobHash(byte[] b) =>
        Convert.ToHexStringLower(SHA1.HashData(Encoding.ASCII.GetBytes($"blob {b.Length}\0").Concat(b).ToArray()));

    /// The ETag a file is cached under: sha256 for LFS files, the git blob hash for the rest.
    public static string Etag(string file, byte[] b) => IsLfs(file) ? Sha256(b) : GitBlobHash(b);

    /// A thread per request, not the thread pool: a throttled or delayed answer sleeps, and sleeping pool threads
    /// (while other tests run in parallel) would hold up the answers a test is waiting for.
    void Serve()
    {
        while (listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = listener.GetContext(); }
            catch (Exception) { return; }
            new Thread(() => Handle(ctx)) { IsBackground = true }.Start();
        }
    }

    void Handle(HttpListenerContext ctx)
    {
        var req = ctx.Request;
        var res = ctx.Response;
        Requests.Enqueue(new Request(req.HttpMethod, req.Url!.AbsolutePath, req.Headers["Authorization"], req.Headers["Range"]));
        try
        {
            if (DelayMs > 0) Thread.Sleep(DelayMs);
            if (Interlocked.Decrement(ref Fail5xx) >= 0) { Status(res, 503); return; }
            Interlocked.Exchange(ref Fail5xx, Math.Max(Fail5xx, 0));
            var parts = Uri.UnescapeDataString(req.Url.AbsolutePath).Trim('/').Split('/');
            if (parts is ["api", "models", var org, var name, "revision", .. var rev]) Revision(req, res, $"{org}/{name}", string.Join('/', rev));
            else if (parts.Length >= 5 && parts[2] == "resolve") Resolve(req, res, $"{parts[0]}/{parts[1]}", parts[3], string.Join('/', parts[4..]));
            else if (parts is ["cdn", var repoFolder, var sha]) Cdn(req, res, repoFolder, sha);
            else Status(res, 404);
        }
        catch (Exception) { try { res.Abort(); } catch { } }
    }

    /// As the Hub gates: a gated repo's model info (the revision API) is public; its files answer 401 GatedRepo
    /// without the token.
    Repo? Find(HttpListenerRequest req, HttpListenerResponse res, string id, string rev, bool file = true)
    {
        if (Renamed.TryGetValue(id, out var newId))
        {
            res.StatusCode = 307;
            res.RedirectLocation = req.Url!.AbsolutePath.Replace("/" + id + "/", "/" + newId + "/");
            res.Close();
            return null;
        }
        if (!repos.TryGetValue(id, out var repo)) { Status(res, req.Headers["Authorization"] is null ? 401 : 404, "RepoNotFound"); return null; }
        if (file && repo.RequiredToken is { } t && req.Headers["Authorization"] != $"Bearer {t}")
        {
            Status(res, 401, "GatedRepo", "Access to model " + id + " is restricted. You must have access to it and be authenticated to access it.");
            return null;
        }
        if (rev != "main" && rev != repo.Commit) { Status(res, 404, "RevisionNotFound"); return null; }
        return repo;
    }

    void Revision(HttpListenerRequest req, HttpListenerResponse res, string id, string rev)
    {
        if (Find(req, res, id, rev, file: false) is not { } repo) return;
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            id = repo.Id,
            sha = repo.Commit,
            siblings = repo.Files.Keys.OrderBy(k => k, StringComparer.Ordinal).Select(f => new { rfilename = f }),
        });
        res.ContentType = "application/json";
        Send(req, res, body);
    }

    void Resolve(HttpListenerRequest req, HttpListenerResponse res, string id, string rev, string file)
    {
        if (Find(req, res, id, rev) is not { } repo) return;
        if (!repo.Files.TryGetValue(file, out var bytes)) { Status(res, 404, "EntryNotFound"); return; }
        res.Headers["X-Repo-Commit"] = repo.Commit;
        if (IsLfs(file))
        {
            var sha = Sha256(bytes);
            res.Headers["X-Linked-Etag"] = $"\"{sha}\"";
            res.Headers["X-Linked-Size"] = (AnnouncedSize.TryGetValue(file, out var announced) ? announced : bytes.Length).ToString();
            res.Headers["ETag"] = $"\"{GitBlobHash(Encoding.ASCII.GetBytes("version https://git-lfs.github.com/spec/v1\noid sha256:" + sha))}\"";
            res.RedirectLocation = $"http://localhost:{Port}/cdn/{id.Replace("/", "--")}/{sha}";
            res.StatusCode = 302;
            res.Close();
            return;
        }
        res.Headers["ETag"] = $"\"{GitBlobHash(bytes)}\"";
        Send(req, res, CorruptFile.ContainsKey(file) ? Corrupt(bytes) : bytes);
    }

    void Cdn(HttpListenerRequest req, HttpListenerResponse res, string repoFolder, string sha)
    {
        var repo = repos.Values.FirstOrDefault(r => r.Id.Replace("/", "--") == repoFolder);
        var (file, bytes) = repo?.Files.FirstOrDefault(f => Sha256(f.Value) == sha) ?? default;
        if (bytes is null) { Status(res, 404); return; }
        if (CorruptFile.ContainsKey(file)) bytes = Corrupt(bytes);
        long start = 0;
        if (!IgnoreRange && req.Headers["Range"] is { } range && range.StartsWith("bytes=") && long.TryParse(range[6..].TrimEnd('-'), out var from))
        {
            start = from;
            res.StatusCode = 206;
            res.Headers["Content-Range"] = $"bytes {from}-{bytes.Length - 1}/{bytes.Length}";
        }
        bool cut = CutFile.TryGetValue(file, out var n) && n > 0 && CutFile.TryUpdate(file, n - 1, n);
        res.ContentLength64 = bytes.Length - start;
        if (req.HttpMethod == "HEAD") { res.Close(); return; }
        HoldCdn?.Wait(TimeSpan.FromSeconds(30));
        long end = cut ? start + (bytes.Length - start) / 2 : bytes.Length;
        for (long at = start; at < end; at += 4096)
        {
            int len = (int)Math.Min(4096, end - at);
            res.OutputStream.Write(bytes, (int)at, len);
            if (ThrottleBytesPerSecond > 0) { res.OutputStream.Flush(); Thread.Sleep(Math.Max(1, len * 1000 / ThrottleBytesPerSecond)); }
        }
        if (cut) { res.OutputStream.Flush(); res.Abort(); return; }
        res.Close();
    }

    static byte[] Corrupt(byte[] b)
    {
        var c = (byte[])b.Clone();
        c[c.Length / 2] ^= 0xFF;
        return c;
    }

    static void Send(HttpListenerRequest req, HttpListenerResponse res, byte[] body)
    {
        res.ContentLength64 = body.Length;
        if (req.HttpMethod != "HEAD") res.OutputStream.Write(body);
        res.Close();
    }

    static void Status(HttpListenerResponse res, int code, string? errorCode = null, string? message = null)
    {
        res.StatusCode = code;
        if (errorCode is not null) res.Headers["X-Error-Code"] = errorCode;
        if (message is not null) res.Headers["X-Error-Message"] = message;
        res.ContentLength64 = 0;
        res.Close();
    }

    static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    /// Stops answering: the port refuses connections from now on (a machine without network, as far as a client sees).
    public void Stop()
    {
        if (!listener.IsListening) return;
        listener.Stop();
        listener.Close();
    }

    public void Dispose()
    {
        Stop();
        loop.Join(TimeSpan.FromSeconds(5));
    }
}
