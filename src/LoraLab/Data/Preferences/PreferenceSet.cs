namespace LoraLab.Data.Preferences;

/// What encoding a preference set did: pairs kept and dropped (nothing of a completion fit), prompts and completions
/// cut, and the tokens of each part after truncation (a prompt counted once per pair).
public sealed record PreferenceStats(int Pairs, int Dropped, int PromptsCut, int CompletionsCut,
    long PromptTokens, long ChosenTokens, long RejectedTokens)
{
    /// Tokens of all rows as batched: each prompt goes through the model with both of its completions.
    public long Tokens => 2 * PromptTokens + ChosenTokens + RejectedTokens;
}

/// The pairs a <see cref="PreferenceEncoder"/> kept (`Index` = place in `Pairs`), their counts, and the one line
/// the run's log states the truncation with.
public sealed record PreferenceSet(IReadOnlyList<TokenizedPair> Pairs, PreferenceStats Stats, string TruncationNote);

/// One record's ids at full length (`Prompt` with its BOS, each completion with its EOS) and after truncation:
/// `Kept` is null when the pair is dropped, and its Index is 0 until a set numbers it.
public sealed record EncodedPair(PreferenceRecord Record, int[] Prompt, int[] Chosen, int[] Rejected,
    TokenizedPair? Kept, bool PromptCut, bool ChosenCut, bool RejectedCut);
