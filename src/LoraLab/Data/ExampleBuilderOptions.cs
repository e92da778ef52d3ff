namespace LoraLab.Data;

/// What to do with an example longer than the maximum sequence length.
public enum LongExamplePolicy
{
    /// Keep the start and the final end-of-sequence token.
    Truncate,
    /// Leave the example out.
    Drop,
}

/// Options of <see cref="ExampleBuilder"/>.
public sealed record ExampleBuilderOptions
{
    /// Longest example in tokens, including BOS and EOS.
    public int MaxSeqLength { get; init; } = 2048;

    /// Also train on prompt tokens (instruction, input, user turns); by default only responses are targets.
    public bool TrainOnInputs { get; init; }

    public LongExamplePolicy LongExamples { get; init; } = LongExamplePolicy.Truncate;

    /// Whether to start each example with BOS; null follows the tokenizer's `AddBosByDefault`.
    public bool? AddBos { get; init; }
}
