using LoraLab.Data;

namespace LoraLab.Serving;

/// One completion a client asks for, parsed from its JSON by the HTTP layer: a chat (messages, rendered with the
/// model's template) or a raw prompt.
public sealed record CompletionRequest
{
    /// The base model's id or a loaded adapter's name.
    public required string Model { get; init; }
    /// Chat messages (chat completions); null for a raw prompt.
    public IReadOnlyList<ChatMessage>? Messages { get; init; }
    /// Raw prompt text (completions), tokenized as `generate --raw` does; null for a chat.
    public string? Prompt { get; init; }
    /// Tokens to generate at most; null: what the context leaves after the prompt.
    public int? MaxTokens { get; init; }
    /// 0: greedy.
    public double Temperature { get; init; } = 1.0;
    public double TopP { get; init; } = 1.0;
    /// The sampler's seed; null: a random one.
    public long? Seed { get; init; }
    /// Strings that end the completion (not included in it).
    public IReadOnlyList<string> Stop { get; init; } = Array.Empty<string>();
    /// Go on past end-of-sequence and end-of-turn tokens until max_tokens (vLLM's `ignore_eos`, for benchmarks with a
    /// fixed output length); stop strings still end the completion.
    public bool IgnoreEos { get; init; }
}
