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

/// A request the server refuses, with the HTTP status and OpenAI error fields it answers with.
public sealed class ServeRequestException(int status, string message, string? param = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;
    public string? Param { get; } = param;
    public string? Code { get; } = code;

    public static ServeRequestException NotFound(string message, string? param = "model") => new(404, message, param, "model_not_found");
    public static ServeRequestException Invalid(string message, string? param = null) => new(400, message, param);
}

/// A model a client can name: the base or a loaded adapter (vLLM's convention: an adapter is a model whose parent
/// is the base).
public sealed record ServedModel(string Id, string Root, string? Parent, long Created);

/// What the engine reports for metrics (called on the engine thread; keep it cheap).
public interface IServeObserver
{
    /// After each decode step: the rows it decoded and the requests still waiting.
    void Step(int batchSize, int waiting);
    void FirstToken(string model, double secondsSinceSubmit);
    void NextToken(string model, double secondsSincePrevious);
    void Finished(string model, int promptTokens, int completionTokens, FinishReason reason);
}

public sealed record ServeOptions
{
    /// Sequences decoded together at most (the slots of the KV cache).
    public int MaxBatch { get; init; } = 8;
    /// Positions per sequence (prompt + completion); null: the model's max_position_embeddings, at most
    /// <see cref="DefaultMaxContext"/> (every slot's keys and values are allocated up front: a 128k-token model's
    /// whole window times --max-batch would not fit in memory).
    public int? MaxContext { get; init; }
    public const int DefaultMaxContext = 4096;
    public const string DefaultMaxContextHelp = "the model's max_position_embeddings, at most 4096";
    /// The base model's id in /v1/models; null: the model folder's name.
    public string? BaseName { get; init; }
    /// Template for chats with models that record none (the base, adapters trained elsewhere): a template name or
    /// `auto` (the model's own chat template); null: such models take raw completions only.
    public string? Template { get; init; }
}
