using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace LoraLab.Tests.Serving;

/// A `loralab serve` child process on a free port (--port 0), ready once it printed `serving on URL`, with an
/// HttpClient for it. Dispose kills it (and anything it started) if it still runs.
sealed class ServeProcess : IDisposable
{
    /// The key Demo's server wants.
    public const string DemoKey = "test-key-23";

    readonly StringBuilder _stderr = new();
    public Process Process { get; }
    public string Url { get; }
    public HttpClient Http { get; }

    /// `loralab serve --model <demo base> --port 0 --threads 1 args` (without --model when `model` is false, without
    /// --threads when `defaults` is true); `environment` is added to the server's.
    public ServeProcess(IReadOnlyList<string> args, string? apiKey = null, IReadOnlyDictionary<string, string>? environment = null, bool model = true, bool defaults = false)
    {
        string[] baseArgs = model ? ["--model", ServedAdapters.Base] : [];
        string[] threads = defaults ? [] : ["--threads", "1"];
        var psi = CliRunner.StartInfo(["serve", .. baseArgs, "--port", "0", .. threads, .. args]);
        psi.Environment.Remove("LORALAB_API_KEY");
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        Process = Process.Start(psi)!;
        Process.ErrorDataReceived += (_, e) => { lock (_stderr) _stderr.AppendLine(e.Data); };
        Process.BeginErrorReadLine();
        var first = Process.StandardOutput.ReadLineAsync();
        if (!first.Wait(TimeSpan.FromSeconds(180)) || first.Result is not { } line || !line.StartsWith("serving on http://"))
        {
            Kill();
            throw new InvalidOperationException($"serve did not start: stdout '{(first.IsCompleted ? first.Result : "(nothing)")}', stderr:\n{Stderr}");
        }
        Url = line["serving on ".Length..];
        Http = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(120) };
        if (apiKey is not null) Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    /// The demo base with the two shared adapters as `first` and `second`, the Alpaca template for the base's chats
    /// (the demo base has no chat template of its own), and DemoKey.
    public static ServeProcess Demo(IReadOnlyDictionary<string, string>? environment = null) => new(
        ["--adapter", $"first={ServedAdapters.First}", "--adapter", $"second={ServedAdapters.Second}", "--template", "alpaca", "--api-key", DemoKey],
        DemoKey, environment);

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    public Task<HttpResponseMessage> Post(string path, string body) =>
        Http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

    public Task<HttpResponseMessage> Post(string path, object body) => Post(path, JsonSerializer.Serialize(body));

    /// SIGTERM, as a service manager stops it (Process.Kill is SIGKILL).
    public void Terminate() => Process.Start("kill", ["-TERM", Process.Id.ToString()])!.WaitForExit();

    /// The server process's peak resident memory so far (VmHWM in /proc/PID/status), in kB.
    public long PeakRssKb()
    {
        var line = File.ReadLines($"/proc/{Process.Id}/status").First(l => l.StartsWith("VmHWM:"));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    void Kill()
    {
        try { if (!Process.HasExited) { Process.Kill(entireProcessTree: true); Process.WaitForExit(10_000); } }
        catch (InvalidOperationException) { } // it exited in between
    }

    public void Dispose()
    {
        Http?.Dispose();
        Kill();
        Process.Dispose();
    }
}
