using System.Net;
using System.Net.Sockets;
using System.Text;
using LoraLab.Hub;
using Xunit;
using Xunit.Abstractions;
using static LoraLab.Tests.Hub.HubTestKit;

namespace LoraLab.Tests.Hub;

/// The client against servers that misbehave below HTTP's happy path: a stalled body, a lock that cannot be taken for
/// another reason than a holder, a CDN that refuses, a line that keeps dropping, a non-Hub answer; and globs as
/// huggingface-cli reads them.
public class HubRobustnessTests(ITestOutputHelper output)
{
    /// A raw HTTP server: answers every request with `head` (status line + headers) and then `body`, then, if `hang`,
    /// keeps the connection open without sending more. Records each request's first line and headers.
    sealed class RawServer : IDisposable
    {
        readonly TcpListener l = new(IPAddress.Loopback, 0);
        public readonly List<string> Requests = new();
        public int Port => ((IPEndPoint)l.LocalEndpoint).Port;
        public RawServer(Func<string, (string head, byte[] body, bool hang)> answer)
        {
            l.Start();
            new Thread(() =>
            {
                while (true)
                {
                    TcpClient c;
                    try { c = l.AcceptTcpClient(); } catch { return; }
                    new Thread(() =>
                    {
                        try
                        {
                            var s = c.GetStream();
                            var buf = new byte[8192]; int n = 0;
                            while (!Encoding.ASCII.GetString(buf, 0, n).Contains("\r\n\r\n")) n += s.Read(buf, n, buf.Length - n);
                            var req = Encoding.ASCII.GetString(buf, 0, n);
                            lock (Requests) Requests.Add(req);
                            var (head, body, hang) = answer(req);
                            s.Write(Encoding.ASCII.GetBytes(head + "\r\n"));
                            s.Write(body);
                            s.Flush();
                            if (hang) Thread.Sleep(60_000);
                            c.Close();
                        }
                        catch { }
                    }) { IsBackground = true }.Start();
                }
            }) { IsBackground = true }.Start();
        }
        public void Dispose() => l.Stop();
    }

    [Fact]
    public void A_revision_answer_whose_body_stalls_times_out()
    {
        using var server = new RawServer(_ => ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n", Encoding.ASCII.GetBytes("{\"sha\":"), true));
        var env = new HubEnvironment { Endpoint = $"http://127.0.0.1:{server.Port}", CacheDir = TempDir.New("hub"), Attempts = 1,
            MetadataTimeout = TimeSpan.FromSeconds(1), DownloadTimeout = TimeSpan.FromSeconds(1) };
        var task = Task.Factory.StartNew(() => Record.Exception(() => new HubDownloader(env).Snapshot(Id("test-org/tiny"))), TaskCreationOptions.LongRunning);
        Assert.True(task.Wait(TimeSpan.FromSeconds(15)), "Snapshot still running 15 s after a 1 s timeout: hangs on a stalled body");
        Assert.Contains("timed out", Assert.IsType<HubUnreachableException>(task.Result).Message);
    }

    [Fact]
    public void A_lock_that_cannot_be_opened_for_a_reason_other_than_another_holder_is_an_error_not_an_endless_wait()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/tiny", SmallModel());
        var cache = TempDir.New("hub");
        var etag = FakeHub.Sha256(repo.Files["model.safetensors"]);
        var lockPath = Path.Combine(cache, ".locks", "models--test-org--tiny", etag + ".lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
        File.CreateSymbolicLink(lockPath, lockPath);   // ELOOP: an IOException that is not a sharing violation (as EROFS, ENOSPC, EDQUOT)
        var progress = new RecordingProgress();
        var task = Task.Factory.StartNew(() => Record.Exception(() => new HubDownloader(Env(hub, cache), progress).Snapshot(Id("test-org/tiny"))), TaskCreationOptions.LongRunning);
        bool done = task.Wait(TimeSpan.FromSeconds(10));
        output.WriteLine(string.Join("\n", progress.Notes));
        Assert.True(done, "still waiting for 'another process' after 10 s: " + string.Join(" | ", progress.Notes));
        Assert.IsAssignableFrom<IOException>(task.Result);
        Assert.Empty(progress.Notes);
    }

    [Fact]
    public void The_cdn_location_is_requested_byte_for_byte_as_the_hub_sent_it()
    {
        const string query = "?X-Amz-Credential=cas%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&response-content-disposition=inline%3B+filename*%3DUTF-8%27%27model.safetensors%3B+filename%3D%22model.safetensors%22%3B&Signature=ab%2Bcd%3D%3D&p=%E2%80%A6%20x";
        RawServer? cdn = null;
        cdn = new RawServer(req => ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n", "abc"u8.ToArray(), false));
        using var _ = cdn;
        string location = $"http://localhost:{cdn.Port}/blob/x{query}";
        using var hub = new RawServer(req => ($"HTTP/1.1 302 Found\r\nLocation: {location}\r\nX-Repo-Commit: {new string('a', 40)}\r\nX-Linked-Etag: \"{new string('b', 64)}\"\r\nX-Linked-Size: 3\r\nContent-Length: 0\r\n", [], false));
        var env = new HubEnvironment { Endpoint = $"http://127.0.0.1:{hub.Port}", CacheDir = TempDir.New("hub"), Attempts = 1 };
        using var client = new HubClient(env);
        var meta = client.Metadata(Id("test-org/tiny"), new string('a', 40), "model.safetensors");
        output.WriteLine(meta.Location);
        using (var fs = new FileStream(Path.Combine(TempDir.New("x"), "f"), FileMode.Create, FileAccess.ReadWrite))
            client.Download(Id("test-org/tiny"), "model.safetensors", meta.Location, fs, 3, _ => { });
        var line = cdn.Requests.Single().Split("\r\n")[0];
        output.WriteLine(line);
        Assert.Equal($"GET /blob/x{query} HTTP/1.1", line);
    }

    [Fact]
    public void A_revision_answer_that_is_not_json_is_a_user_error()
    {
        using var server = new RawServer(_ => ("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 15\r\n", Encoding.ASCII.GetBytes("<html>hi</html>"), false));
        var env = new HubEnvironment { Endpoint = $"http://127.0.0.1:{server.Port}", CacheDir = TempDir.New("hub"), Attempts = 1 };
        var e = Record.Exception(() => new HubDownloader(env).Snapshot(Id("test-org/tiny")));
        output.WriteLine(e.GetType().Name + ": " + e.Message);
        Assert.IsAssignableFrom<UserException>(e);
    }

    [Fact]
    public void A_cdn_403_is_not_reported_as_a_gated_repo_needing_a_token()
    {
        using var cdn = new RawServer(_ => ("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n", [], false));
        var env = new HubEnvironment { Endpoint = "http://127.0.0.1:1", CacheDir = TempDir.New("hub"), Attempts = 1 };
        using var client = new HubClient(env);
        using var fs = new FileStream(Path.Combine(TempDir.New("x"), "f"), FileMode.Create, FileAccess.ReadWrite);
        var e = Record.Exception(() => client.Download(Id("test-org/tiny"), "model.safetensors", $"http://localhost:{cdn.Port}/blob?Expires=1", fs, 3, _ => { }));
        output.WriteLine(e.GetType().Name + ": " + e.Message);
        Assert.DoesNotContain("no token was given", e.Message);
        Assert.Contains("refused model.safetensors (HTTP 403", e.Message);
    }

    [Fact]
    public void A_download_that_keeps_progressing_is_not_given_up_after_five_drops()
    {
        using var hub = new FakeHub();
        var repo = hub.AddRepo("test-org/tiny", SmallModel(1 << 20));
        hub.CutFile["model.safetensors"] = 5;   // five drops, each after half of what was left: every try makes progress
        var e = Record.Exception(() => new HubDownloader(Env(hub, TempDir.New("hub"))).Snapshot(Id("test-org/tiny")));
        output.WriteLine(e?.Message ?? "ok");
        Assert.Null(e);
    }

    [Fact]
    public void Include_globs_match_as_huggingface_cli_matches_them()
    {
        string[] files = ["config.json", "original/params.json", "original/consolidated.safetensors", "Model.SAFETENSORS"];
        // huggingface_hub: fnmatchcase (`*` crosses `/`, case-sensitive), a trailing `/` means the whole folder.
        Assert.Equal(["config.json", "original/params.json"], HubFileSelection.Matching(files, ["*.json"]));
        Assert.Equal(["original/params.json", "original/consolidated.safetensors"], HubFileSelection.Matching(files, ["original/"]));
    }
}
