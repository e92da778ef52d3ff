namespace LoraLab.Cli.Commands;

/// Ctrl-C at a chat terminal: while a reply is being generated it ends that reply (the chat goes on); at the `> `
/// prompt it quits as usual. Inactive for piped input.
public sealed class ReplyInterrupt : IDisposable
{
    readonly bool _active;
    CancellationTokenSource _reply = new();
    volatile bool _replying;

    public ReplyInterrupt(bool active)
    {
        _active = active;
        if (active) Console.CancelKeyPress += OnCancel;
    }

    /// Whether the last reply was ended by Ctrl-C.
    public bool Interrupted => _reply.IsCancellationRequested;

    /// A token for the next reply, cancelled by Ctrl-C until <see cref="End"/>.
    public CancellationToken Begin()
    {
        _reply.Dispose();
        _reply = new CancellationTokenSource();
        _replying = true;
        return _reply.Token;
    }

    public void End() => _replying = false;

    void OnCancel(object? sender, ConsoleCancelEventArgs e)
    {
        if (!_replying) return;
        e.Cancel = true;
        _reply.Cancel();
    }

    public void Dispose()
    {
        if (_active) Console.CancelKeyPress -= OnCancel;
        _reply.Dispose();
    }
}
