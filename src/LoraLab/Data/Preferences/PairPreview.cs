namespace LoraLab.Data.Preferences;

/// One preference pair as training would see it (after truncation): the masked prompt and both completions as ids,
/// their lengths before truncation, and what is wrong with the pair.
public sealed record PairPreview(string Origin, int[] Prompt, int[] Chosen, int[] Rejected,
    int FullPrompt, int FullChosen, int FullRejected, bool Dropped, IReadOnlyList<string> Warnings)
{
    /// Inspects a record for what the preview warns about: truncation (prompt cut, completion cut and left without
    /// its EOS, pair dropped), a doubled BOS, and identical completions (nothing to prefer).
    public static PairPreview Inspect(PreferenceEncoder encoder, PreferenceRecord record)
    {
        var e = encoder.EncodePair(record);
        var warnings = new List<string>();
        if (e.PromptCut)
            warnings.Add($"prompt of {e.Prompt.Length} tokens > max prompt length {encoder.MaxPromptLength}: keeps its last {encoder.MaxPromptLength}{(encoder.Tokenizer.BosId == e.Prompt[0] ? " (BOS kept in front)" : "")}");
        if (e.Kept is null)
            warnings.Add($"the prompt fills the max sequence length {encoder.MaxSeqLength}: no completion token fits, so the pair would be dropped");
        foreach (var (name, full, cut) in new[] { ("chosen", e.Chosen, e.ChosenCut), ("rejected", e.Rejected, e.RejectedCut) })
            if (cut)
                warnings.Add($"{name}: prompt + {full.Length} tokens > max sequence length {encoder.MaxSeqLength}: cut to {encoder.MaxSeqLength - e.Kept!.Prompt.Length} tokens, without its EOS");
        if (encoder.Tokenizer.BosId is int bos && e.Prompt.Length >= 2 && e.Prompt[0] == bos && e.Prompt[1] == bos)
            warnings.Add("doubled BOS at the start of the prompt: the text already begins with BOS and another is added");
        if (e.Chosen.AsSpan().SequenceEqual(e.Rejected))
            warnings.Add("chosen and rejected are the same tokens: the pair has nothing to prefer");
        var kept = e.Kept;
        return new PairPreview(record.Origin, kept?.Prompt ?? e.Prompt, kept?.Chosen ?? e.Chosen, kept?.Rejected ?? e.Rejected,
            e.Prompt.Length, e.Chosen.Length, e.Rejected.Length, kept is null, warnings);
    }
}
