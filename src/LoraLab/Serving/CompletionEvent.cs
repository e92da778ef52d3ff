namespace LoraLab.Serving;

public enum FinishReason
{
    /// An end-of-sequence or end-of-turn token, or a stop string.
    Stop,
    /// max_tokens (or the context) ran out.
    Length,
    /// The client went away, or the server stopped before the completion ended.
    Cancelled,
}

/// What a completion's reader receives, in order: text pieces (UTF-8 safe, stop strings held back until it is clear
/// they are not one), then exactly one <see cref="CompletionEnd"/>.
public abstract record CompletionEvent;
public sealed record CompletionText(string Text) : CompletionEvent;
public sealed record CompletionEnd(FinishReason Reason, int PromptTokens, int CompletionTokens, string? Error = null) : CompletionEvent;
