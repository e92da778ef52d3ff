using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace LoraLab.Tests.Serving;

/// `loralab serve` as a child process on a free port (`--port 0`): started by Start, ready once it printed its
/// `serving on http://HOST:PORT` line; Dispose kills it (and anything it started) and waits for it.
sealed class ServeProcess : IDisposable
{
    static readonly Regex Ready = new(@"^serving on (http://\S+)$");
    public const string ApiKey = "test-key-23";

    readonly Process _p;
    readonly StringBuilder _err;

    public string BaseUrl { get; }
    public int Pid => _p.Id;
    public string Stderr { get { lock (_err) return _err.ToString(); } }

    ServeProcess(Process p, StringBuilder err, string baseUrl) { _p = p; _err = err; BaseUrl = baseUrl; }

    /// The demo base with the two shared adapters as `first` and `second`, the Alpaca template for the base's chats
    /// (the demo base has no chat template of its own), and the test key; `environment` is added to the server's.
    public static ServeProcess Demo(IReadOnlyDictionary<string, string>? environment = null) => Start(
    [
        "--model", ServedAdapters.Base, "--adapter", $"first={ServedAdapters.First}", "--adapter", $"second={ServedAdapters.Second}",
        "--template", "alpaca", "--api-key", ApiKey,
    ], environment);

    /// `loralab serve --port 0 args`, waiting up to two minutes for its ready line.
    public static ServeProcess Start(string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = CliRunner.StartInfo(["serve", "--port", "0", .. args]);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        var err = new StringBuilder();
        var first = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (err) err.AppendLine(e.Data); };
        p.OutputDataReceived += (_, e) => first.TrySetResult(e.Data); // the contract: one line, then nothing on stdout
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        if (first.Task.Wait(TimeSpan.FromMinutes(2)) && first.Task.Result is { } line && Ready.Match(line) is { Success: true } m)
            return new ServeProcess(p, err, m.Groups[1].Value);
        string said = first.Task.IsCompleted ? first.Task.Result ?? "(end of output)" : "(nothing within 2 minutes)";
        Stop(p);
        p.Dispose();
        string stderr; lock (err) stderr = err.ToString();
        throw new InvalidOperationException($"`loralab serve` did not print its ready line; stdout: {said}\nstderr:\n{stderr}");
    }

    /// A client with the test key and no timeout of its own (the tests bound their waits).
    public HttpClient Client() => new()
    {
        BaseAddress = new Uri(BaseUrl),
        Timeout = Timeout.InfiniteTimeSpan,
        DefaultRequestHeaders = { Authorization = new("Bearer", ApiKey) },
    };

    /// The server process's peak resident memory so far (VmHWM in /proc/PID/status), in kB.
    public long PeakRssKb()
    {
        var line = File.ReadLines($"/proc/{Pid}/status").First(l => l.StartsWith("VmHWM:"));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    public void Dispose()
    {
        Stop(_p);
        _p.Dispose();
    }

    static void Stop(Process p)
    {
        try { if (!p.HasExited) p.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { } // it exited in between
        p.WaitForExit();
    }
}
