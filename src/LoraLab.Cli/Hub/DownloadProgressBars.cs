using System.Diagnostics;
using System.Globalization;
using LoraLab.Hub;
using Spectre.Console;

namespace LoraLab.Cli.Hub;

/// Download progress on stderr, so stdout stays the command's output (`loralab download` prints a path there): on a
/// terminal a Spectre progress bar per file with bytes, rate and time left; otherwise one line per file,
/// "downloading FILE (SIZE) ... done".
public sealed class DownloadProgressBars : IDownloadProgress
{
    readonly TextWriter _err;
    readonly IAnsiConsole _console;
    readonly bool _terminal;
    readonly object _gate = new();
    FileBar? _open;

    public DownloadProgressBars(TextWriter err)
    {
        _err = err;
        var output = new AnsiConsoleOutput(err);
        _terminal = output.IsTerminal;
        _console = AnsiConsole.Create(new AnsiConsoleSettings { Out = output });
    }

    public IFileProgress Start(string file, long? size, long resumedFrom)
    {
        lock (_gate)
        {
            Close();
            _open = _terminal ? new TerminalBar(this, file, size, resumedFrom) : new LineBar(this, file, size, resumedFrom);
            return _open;
        }
    }

    public void Note(string message)
    {
        lock (_gate)
        {
            Close();
            _err.WriteLine($"note: {message}");
        }
    }

    /// Ends a bar or line still open (a download that failed half-way), before an error is printed under it.
    public void Close()
    {
        lock (_gate)
        {
            _open?.End(done: false);
            _open = null;
        }
    }

    /// `bytes` for people: 512 B, 1.5 KiB, 12.3 MiB, 4.0 GiB.
    public static string Size(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return u == 0 ? $"{bytes} B" : string.Create(CultureInfo.InvariantCulture, $"{v:0.0} {units[u]}");
    }

    abstract class FileBar(DownloadProgressBars owner) : IFileProgress
    {
        public abstract void Advance(long bytes);
        public void Done()
        {
            lock (owner._gate)
            {
                End(done: true);
                if (owner._open == this) owner._open = null;
            }
        }
        public abstract void End(bool done);
    }

    /// Not a terminal (a log, a pipe, CI): a line per file.
    sealed class LineBar : FileBar
    {
        readonly DownloadProgressBars _owner;
        readonly Stopwatch _clock = Stopwatch.StartNew();
        bool _ended;

        public LineBar(DownloadProgressBars owner, string file, long? size, long resumedFrom) : base(owner)
        {
            _owner = owner;
            string what = size is long s ? Size(s) : "size unknown";
            if (resumedFrom > 0) what += $", resuming at {Size(resumedFrom)}";
            owner._err.Write($"downloading {file} ({what}) ... ");
            owner._err.Flush();
        }

        public override void Advance(long bytes) { }

        public override void End(bool done)
        {
            if (_ended) return;
            _ended = true;
            _owner._err.WriteLine(done ? string.Create(CultureInfo.InvariantCulture, $"done ({_clock.Elapsed.TotalSeconds:F1} s)") : "stopped");
        }
    }

    /// A terminal: the file's bar drawn live by Spectre on a thread of its own until the file is done.
    sealed class TerminalBar : FileBar
    {
        readonly ManualResetEventSlim _finished = new();
        readonly Thread _display;
        readonly ProgressTask _task;
        bool _ended;

        public TerminalBar(DownloadProgressBars owner, string file, long? size, long resumedFrom) : base(owner)
        {
            var ready = new TaskCompletionSource<ProgressTask>();
            _display = new Thread(() => { try { owner._console.Progress().AutoClear(false).HideCompleted(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(),
                         new TransferSpeedColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(Markup.Escape(file), maxValue: size is long s && s > 0 ? s : 1);
                    task.IsIndeterminate = size is null;
                    task.Value = resumedFrom;
                    ready.SetResult(task);
                    _finished.Wait();
                    ctx.Refresh();
                }); }
                catch (Exception e) { ready.TrySetException(e); } // never leave the download waiting for a bar
            }) { IsBackground = true, Name = "download progress" };
            _display.Start();
            _task = ready.Task.GetAwaiter().GetResult();
        }

        public override void Advance(long bytes) => _task.Value = Math.Max(0, _task.Value + bytes);

        public override void End(bool done)
        {
            if (_ended) return;
            _ended = true;
            if (done) _task.Value = _task.MaxValue;
            _task.StopTask();
            _finished.Set();
            _display.Join();
        }
    }
}
