namespace LoraLab.Distributed;

/// Ends the job when an exchange between ranks does not finish in time. A blocked MPI or NCCL call cannot be
/// cancelled, so the watchdog's thread prints what was being waited for and ends this process at once (libc `_exit`);
/// `mpirun` then ends every other rank. Checkpoints are written atomically, so the last one stays loadable.
public sealed class CollectiveWatchdog : IDisposable
{
    readonly Timer _timer;
    readonly TimeSpan _timeout;
    readonly Func<string> _context;
    readonly Action<int> _exit;
    readonly object _gate = new();
    string? _waitingFor;
    long _deadline; // Environment.TickCount64 when the watched exchange is overdue; 0 when nothing is watched

    /// `context`: what to add to the message (the rank, the last checkpoint); `exit` ends the process (a test passes its own).
    public CollectiveWatchdog(TimeSpan timeout, Func<string> context, Action<int>? exit = null)
    {
        _timeout = timeout; _context = context;
        _exit = exit ?? (code => { Console.Error.Flush(); MpiLibrary._exit(code); });
        _timer = new Timer(_ => Check());
    }

    /// The exit status of a job ended by the watchdog.
    public const int ExitCode = 4;

    /// Watches one exchange until the returned value is disposed.
    public Guard Watch(string during)
    {
        lock (_gate)
        {
            _waitingFor = during;
            _deadline = Environment.TickCount64 + (long)_timeout.TotalMilliseconds;
            _timer.Change(_timeout, Timeout.InfiniteTimeSpan);
        }
        return new Guard(this);
    }

    void Check()
    {
        string? during;
        lock (_gate)
        {
            if (_deadline == 0) return;
            long left = _deadline - Environment.TickCount64;
            if (left > 0) { _timer.Change(TimeSpan.FromMilliseconds(left), Timeout.InfiniteTimeSpan); return; } // re-armed meanwhile
            during = _waitingFor;
        }
        Console.Error.WriteLine($"error: {_context()}: no answer from the other ranks for {_timeout.TotalSeconds:0} s {during}; " +
                                "a rank died or hangs, so this rank ends the job (raise --distributed-timeout if a step or a checkpoint save really takes this long)");
        _exit(ExitCode);
    }

    void Disarm()
    {
        lock (_gate)
        {
            _deadline = 0;
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose() => _timer.Dispose();

    public readonly struct Guard(CollectiveWatchdog owner) : IDisposable
    {
        public void Dispose() => owner.Disarm();
    }
}
