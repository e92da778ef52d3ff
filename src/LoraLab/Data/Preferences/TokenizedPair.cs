namespace LoraLab.Data.Preferences;

/// One preference pair as token ids, TRL's DPOTrainer convention: `Prompt` = [BOS when the tokenizer's config asks for
/// it] + enc(prompt), each completion = enc(completion) + [EOS]; after truncation. `Index` is the pair's place in its set
/// (precomputed reference log-probabilities are looked up by it); `Source`/`Line` say where it was read.
public sealed record TokenizedPair(int Index, int[] Prompt, int[] Chosen, int[] Rejected, string Source, int Line)
{
    public int ChosenLength => Prompt.Length + Chosen.Length;
    public int RejectedLength => Prompt.Length + Rejected.Length;
}
