namespace LoraLab.Data;

/// What building a dataset produced: how many examples were kept, dropped (too long, or left with
/// nothing to learn) or truncated, and how many of the tokens are training targets.
public sealed record DataStats(int Examples, int Dropped, int Truncated, long Tokens, long TargetTokens)
{
    /// Share of tokens that are targets; near zero means the masking leaves almost nothing to learn.
    public double TargetShare => Tokens == 0 ? 0 : (double)TargetTokens / Tokens;

    public override string ToString() =>
        $"{Examples} examples ({Dropped} dropped, {Truncated} truncated), {Tokens} tokens, {TargetTokens} targets ({TargetShare:P1})";
}
