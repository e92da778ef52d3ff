using System.Diagnostics;
using LoraLab.Cli;

namespace LoraLab.Tests;

/// The one place that knows how to run `loralab` in tests: in-process through CliApp.Run (fast; the usual way), or
/// the built program (`dotnet loralab.dll ...`) as a real process, for tests that need one (the terminal, a signal,
/// a kill, two processes at once).
static class CliRunner
{
    static readonly object Gate = new();

    /// In-process: runs `args` through CliApp.Run and captures what it prints (one run at a time).
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        lock (Gate)
        {
            var (oldOut, oldErr) = (Console.Out, Console.Error);
            var (o, e) = (new StringWriter(), new StringWriter());
            Console.SetOut(o); Console.SetError(e);
            try { return (CliApp.Run(args), o.ToString(), e.ToString()); }
            finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
        }
    }

    /// As a process: runs the built program with `args` to the end and returns what it printed.
    public static (int Rc, string Stdout, string Stderr) RunProcess(params string[] args)
    {
        using var p = Process.Start(StartInfo(args))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr);
    }

    /// As a process with environment variables set (null removes one): the Hub's HF_* settings are process-wide.
    public static (int Rc, string Stdout, string Stderr) RunProcess(IReadOnlyDictionary<string, string?> env, params string[] args)
    {
        var psi = StartInfo(args);
        foreach (var (k, v) in env)
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr);
    }

    /// As a process, with `stdin` as its standard input (a pipe, closed after the text: end of input).
    public static (int Rc, string Stdout, string Stderr) RunProcessWithInput(string stdin, params string[] args)
    {
        var psi = StartInfo(args);
        psi.RedirectStandardInput = true;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write(stdin);
        p.StandardInput.Close();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// The command line that runs the built program (for a terminal multiplexer or a shell), each part single-quoted.
    public static string ShellCommand(IEnumerable<string> args) =>
        string.Join(' ', new[] { "dotnet", Path.Combine(AppContext.BaseDirectory, "loralab.dll") }.Concat(args)
            .Select(a => "'" + a.Replace("'", "'\\''") + "'"));

    /// As a process: starts the built program with its output drained and discarded (the caller waits for or kills it).
    public static Process Start(params string[] args)
    {
        var p = Process.Start(StartInfo(args))!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// As a process: the built program with `args`, output redirected and uncoloured, for tests that read its
    /// output themselves.
    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "loralab.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        return psi;
    }
}
