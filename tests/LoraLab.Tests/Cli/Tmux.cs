using System.Diagnostics;
using Xunit;

namespace LoraLab.Tests.Cli;

/// A program run at a real pseudo-terminal: a detached tmux session on a server of its own (its own socket), driven
/// with send-keys and read with capture-pane. Disposing kills that server.
sealed class Tmux : IDisposable
{
    public const string Install = "apt-get install -y tmux";
    public static readonly Lazy<bool> Available = new(() => { try { return Run("-V").Rc == 0; } catch (System.ComponentModel.Win32Exception) { return false; } });

    readonly string _socket = "loralab-test-" + Guid.NewGuid().ToString("N")[..8];

    /// Starts `command` (a shell command line) in a 200×50 terminal.
    public Tmux(string command)
    {
        var (rc, err) = Run("-L", _socket, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "200", "-y", "50", command);
        if (rc != 0) throw new InvalidOperationException($"tmux new-session failed: {err}");
    }

    public void Type(string line)
    {
        Run("-L", _socket, "send-keys", "-t", "t", "-l", line);
        Run("-L", _socket, "send-keys", "-t", "t", "Enter");
    }

    /// The whole pane (history included), trailing blanks trimmed.
    public string Screen()
    {
        var psi = Psi("-L", _socket, "capture-pane", "-p", "-J", "-S", "-", "-t", "t");
        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return text.TrimEnd();
    }

    /// Waits until `done(screen)` holds; fails with the screen after `seconds`.
    public string WaitFor(Func<string, bool> done, string what, int seconds = 60)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var screen = Screen();
            if (done(screen)) return screen;
            if (sw.Elapsed.TotalSeconds > seconds) Assert.Fail($"timed out waiting for {what}; the terminal shows:\n{screen}");
            Thread.Sleep(200);
        }
    }

    public void Dispose() => Run("-L", _socket, "kill-server");

    static (int Rc, string Err) Run(params string[] args)
    {
        using var p = Process.Start(Psi(args))!;
        p.StandardOutput.ReadToEnd();
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, err);
    }

    static ProcessStartInfo Psi(params string[] args)
    {
        var psi = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }
}

/// A fact that needs tmux: skipped, naming the command that installs it, where it is missing.
public sealed class TmuxFactAttribute : FactAttribute
{
    public TmuxFactAttribute()
    {
        if (!Tmux.Available.Value) Skip = $"tmux is not installed ({Tmux.Install})";
    }
}
