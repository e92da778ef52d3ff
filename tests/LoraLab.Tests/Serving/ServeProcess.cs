using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace LoraLab.Tests.Serving;

/// A `loralab serve` child process on a free port (--port 0), ready once it printed `serving on URL`, with an
/// HttpClient for it. Dispose kills it if it still runs.
sealed class ServeProcess : IDisposable
{
    readonly StringBuilder _stderr = new();
    public Process Process { get; }
    public string Url { get; }
    public HttpClient Http { get; }

    public ServeProcess(IReadOnlyList<string> args, string? apiKey = null)
    {
        var psi = CliRunner.StartInfo(["serve", "--model", ServedAdapters.Base, "--port", "0", "--threads", "1", .. args]);
        psi.Environment.Remove("LORALAB_API_KEY");
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

    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    public Task<HttpResponseMessage> Post(string path, string body) =>
        Http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

    public Task<HttpResponseMessage> Post(string path, object body) => Post(path, JsonSerializer.Serialize(body));

    /// SIGTERM, as a service manager stops it (Process.Kill is SIGKILL).
    public void Terminate() => Process.Start("kill", ["-TERM", Process.Id.ToString()])!.WaitForExit();

    void Kill()
    {
        try { if (!Process.HasExited) { Process.Kill(); Process.WaitForExit(10_000); } } catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        Http.Dispose();
        Kill();
        Process.Dispose();
    }
}
