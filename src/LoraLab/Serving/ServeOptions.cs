namespace LoraLab.Serving;

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
