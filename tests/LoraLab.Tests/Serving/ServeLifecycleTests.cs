using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Xunit;

namespace LoraLab.Tests.Serving;

/// What `serve` refuses at startup, and how it stops: SIGTERM lets the request in flight finish, then exit 0.
public class ServeLifecycleTests
{
    static (int Rc, string Stdout, string Stderr) RunWithoutKey(params string[] args) =>
        CliRunner.RunProcess(new Dictionary<string, string?> { ["LORALAB_API_KEY"] = null }, ["serve", "--model", ServedAdapters.Base, "--port", "0", .. args]);

    [Fact]
    public async Task WithoutModelTheFirstAdaptersRecordedBaseIsServedAndOneCoreIsLeftToHttp()
    {
        using var server = new ServeProcess(["--adapter", $"first={ServedAdapters.First}"], model: false, defaults: true);
        using var doc = JsonDocument.Parse(await server.Http.GetStringAsync("/v1/models"));
        Assert.Equal(["demo-base", "first"], doc.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.Contains("note: no --model given; using the adapter's base", server.Stderr);
        Assert.Contains($" · {Math.Max(1, LoraLab.Runtime.CpuTopology.PhysicalCores() - 1)} threads", server.Stderr);
    }

    [Fact]
    public void ANonLoopbackHostWithoutAKeyIsRefusedBeforeAnythingLoads()
    {
        var (rc, stdout, stderr) = RunWithoutKey("--host", "0.0.0.0");
        Assert.Equal(2, rc);
        Assert.Equal("", stdout);
        Assert.Contains("error: --host 0.0.0.0 can be reached from other machines: give --api-key KEY (or set LORALAB_API_KEY)", stderr);
    }

    [Theory]
    [InlineData("first", "--adapter 'first': expected NAME=DIR")]
    [InlineData("=dir", "--adapter '=dir': expected NAME=DIR")]
    [InlineData("name=", "--adapter 'name=': expected NAME=DIR")]
    public void AMalformedAdapterFlagIsRefused(string value, string message)
    {
        var (rc, stdout, stderr) = RunWithoutKey("--adapter", value);
        Assert.Equal(2, rc);
        Assert.Equal("", stdout);
        Assert.Contains("error: " + message, stderr);
    }

    [Fact]
    public void AnAdapterThatIsNotOneIsRefusedNamingTheFlag()
    {
        var (rc, _, stderr) = RunWithoutKey("--adapter", $"x={TempDir.New("not-adapter")}");
        Assert.Equal(2, rc);
        Assert.Contains("error: --adapter x=", stderr);
    }

    /// Without --adapter-root, loading at run time is refused. SIGTERM while one completion decodes and two wait
    /// (--max-batch 1): all three still end within the grace period, and the process exits 0.
    [Fact]
    public async Task SigtermDuringRequestsFinishesThemAndExitsZero()
    {
        using var serve = new ServeProcess(["--max-batch", "1"]);
        var refused = await ServeRequestErrorTests.AssertError(await serve.Post("/v1/load_lora_adapter", new { lora_name = "x", lora_path = ServedAdapters.First }), 400);
        Assert.Contains("--adapter-root", refused.GetProperty("message").GetString());

        var requests = Enumerable.Range(0, 3).Select(_ => serve.Post("/v1/completions",
            // ignore_eos: each runs its 120 tokens, so the two behind the first are seen waiting (a reply that ended at
            // EOS after a few tokens could drain the queue between two polls)
            new { model = Path.GetFileName(ServedAdapters.Base), prompt = "key key key key key", max_tokens = 120, temperature = 0, ignore_eos = true })).ToList();
        var clock = Stopwatch.StartNew();
        while (!(await serve.Http.GetStringAsync("/metrics")).Contains("loralab_waiting_requests 2"))
        {
            Assert.True(clock.Elapsed.TotalSeconds < 30, "the completions never queued");
            await Task.Delay(10);
        }
        serve.Terminate();
        foreach (var r in await Task.WhenAll(requests))
        {
            var body = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.OK, body);
            Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);
        }
        Assert.True(serve.Process.WaitForExit(30_000), "serve did not exit after SIGTERM");
        serve.Process.WaitForExit(); // stderr drained
        Assert.Equal(0, serve.Process.ExitCode);
        Assert.Contains("stopping (SIGTERM)", serve.Stderr);
    }
}
