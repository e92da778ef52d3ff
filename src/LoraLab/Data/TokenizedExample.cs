namespace LoraLab.Data;

/// One example as token ids. `Labels[i]` is `InputIds[i]` where token i is a training target and
/// <see cref="Labels.Ignore"/> elsewhere; the loss shifts (logits at i predict `Labels[i+1]`), so
/// `Labels[0]` is never used.
public sealed record TokenizedExample(int[] InputIds, int[] Labels)
{
    public int Length => InputIds.Length;

    /// Targets that count in the loss: labelled positions after the first.
    public int TargetTokens
    {
        get
        {
            int n = 0;
            for (int i = 1; i < Labels.Length; i++) if (Labels[i] != Data.Labels.Ignore) n++;
            return n;
        }
    }
}
