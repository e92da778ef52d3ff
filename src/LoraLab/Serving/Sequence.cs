using System.Diagnostics;
using System.Threading.Channels;
using LoraLab.Evaluation;
using LoraLab.Evaluation.Chat;
using static TorchSharp.torch;

namespace LoraLab.Serving;

/// One request's decoding state on the engine thread: its prompt, where its tokens sit in the KV cache, its sampler
/// and its text so far; what it produces goes to <see cref="Events"/> for the request's reader.
sealed class Sequence : IDisposable
{
    public required ServedAdapter Model { get; init; }
    public required int[] Prompt { get; init; }
    public required SamplingOptions Sampling { get; init; }
    public required ReplyText Text { get; init; }
    public Channel<CompletionEvent> Events { get; } = Channel.CreateUnbounded<CompletionEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    public long SubmittedAt { get; } = Stopwatch.GetTimestamp();
    public long LastTokenAt { get; set; }

    /// The KV cache slot while running; −1 while waiting.
    public int Slot { get; set; } = -1;
    /// Positions in its slot so far (prompt + generated tokens fed back).
    public long Length { get; set; }
    public int LastToken { get; set; }
    public int Generated { get; set; }
    public bool Ended => Reason is not null;
    /// Why it ended; null while it runs.
    public FinishReason? Reason { get; private set; }

    volatile bool _cancelled;
    public bool Cancelled => _cancelled;
    public void Cancel() => _cancelled = true;

    Generator? _sampler;
    /// Seeded from the request (as `generate --seed`), made on first use: greedy requests never need one.
    public Generator Sampler => _sampler ??= new Generator((ulong)Sampling.Seed, CPU);

    public void Emit(string piece)
    {
        if (piece.Length > 0) Events.Writer.TryWrite(new CompletionText(piece));
    }

    /// Sends what text is held back and the end; idempotent.
    public void End(FinishReason reason, string? error = null)
    {
        if (Ended) return;
        Reason = reason;
        if (reason != FinishReason.Cancelled) Emit(Text.Finish());
        Events.Writer.TryWrite(new CompletionEnd(reason, Prompt.Length, Generated, error));
        Events.Writer.TryComplete();
    }

    /// The caller's cancellation callback: unregistered when the sequence ends, so a token that outlives the request
    /// (a host's stopping token, a pooled connection's) does not keep it reachable.
    public CancellationTokenRegistration OnCancel { get; set; }

    public void Dispose()
    {
        OnCancel.Unregister();
        _sampler?.Dispose();
    }
}
