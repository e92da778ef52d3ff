namespace LoraLab.Data;

/// Consecutive tokens of one role: prompt tokens the loss ignores, or target tokens it trains on.
public sealed record TokenRun(IReadOnlyList<int> Ids, bool Trained);

/// One record as training would see it (after the length policy), split into role runs, with what is wrong with it.
public sealed record ExamplePreview(string Origin, IReadOnlyList<TokenRun> Runs, int Tokens, int Targets, int FullLength,
    bool Truncated, bool Dropped, IReadOnlyList<string> Warnings);

/// Inspects rendered examples for the silent failures of fine-tuning data: a doubled BOS (the text already starts
/// with BOS and another is added), a last trained token that is not the stop token (the model never learns to stop),
/// nothing or only the stop token trained, and examples the length limit truncates or drops.
public static class DataPreview
{
    public static ExamplePreview Inspect(ExampleBuilder builder, Record record)
    {
        var full = builder.Encode(record);
        var o = builder.Options;
        var warnings = new List<string>();
        var shown = full;
        bool truncated = false, dropped = false;
        if (full.Length > o.MaxSeqLength)
        {
            if (o.LongExamples == LongExamplePolicy.Drop)
            {
                dropped = true;
                warnings.Add($"{full.Length} tokens > max sequence length {o.MaxSeqLength}: would be dropped");
            }
            else
            {
                shown = builder.Truncate(full);
                truncated = true;
                int lost = full.TargetTokens - shown.TargetTokens;
                if (shown.TargetTokens <= 1 && shown.Labels[^1] != Labels.Ignore)
                {
                    dropped = true;
                    warnings.Add($"{full.Length} tokens > max sequence length {o.MaxSeqLength}: the cut falls inside the prompt, so it would be dropped");
                }
                else
                    warnings.Add($"{full.Length} tokens > max sequence length {o.MaxSeqLength}: would be truncated ({lost} of {full.TargetTokens} target tokens lost)");
            }
        }
        warnings.AddRange(Problems(builder, shown));
        return new ExamplePreview(record.Origin, Runs(shown), shown.Length, shown.TargetTokens, full.Length, truncated, dropped, warnings);
    }

    /// Problems of a built example regardless of its length.
    public static IEnumerable<string> Problems(ExampleBuilder builder, TokenizedExample e)
    {
        var tok = builder.Tokenizer;
        if (tok.BosId is int bos && e.Length >= 2 && e.InputIds[0] == bos && e.InputIds[1] == bos)
            yield return "doubled BOS at the start: the text already begins with BOS and another is added (the model sees BOS BOS, unlike in pre-training and serving)";
        int last = Array.FindLastIndex(e.Labels, l => l != Labels.Ignore);
        if (last <= 0)
        {
            yield return "no token is trained: the whole example is masked";
            yield break;
        }
        if (!builder.StopTokenIds.Contains(e.InputIds[last]))
            yield return $"missing stop token: the last trained token is '{Describe(tok, e.InputIds[last])}' (id {e.InputIds[last]}), not EOS or end-of-turn; the tuned model will not learn to stop";
        else if (e.TargetTokens <= 1)
            yield return "empty response: only the stop token is trained";
    }

    static IReadOnlyList<TokenRun> Runs(TokenizedExample e)
    {
        var runs = new List<TokenRun>();
        var current = new List<int>();
        bool trained = false;
        for (int i = 0; i < e.Length; i++)
        {
            bool t = i > 0 && e.Labels[i] != Labels.Ignore;   // labels[0] is never predicted
            if (current.Count > 0 && t != trained) { runs.Add(new TokenRun(current, trained)); current = new List<int>(); }
            trained = t;
            current.Add(e.InputIds[i]);
        }
        if (current.Count > 0) runs.Add(new TokenRun(current, trained));
        return runs;
    }

    static string Describe(Tokenization.ITokenizer tok, int id) =>
        tok.SpecialTokens.FirstOrDefault(p => p.Value == id).Key ?? tok.TokenText(id);
}
