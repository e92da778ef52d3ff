namespace LoraLab.Data;

/// The examples <see cref="ExampleBuilder.Build"/> kept, with its counts.
public sealed record BuiltDataset(IReadOnlyList<TokenizedExample> Examples, DataStats Stats);
