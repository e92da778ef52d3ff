using LoraLab.Tokenization;

namespace LoraLab.Data.Preferences;

/// Tokenizes preference pairs as TRL's DPOTrainer did while it encoded prompt and completions separately: prompt and
/// each completion encoded on their own with no special tokens from the tokenizer, BOS in front of the prompt by the
/// supervised pipeline's rule (<see cref="ExampleBuilder.EncodePromptText"/>: the tokenizer config's add_bos_token
/// unless the caller decides, and never a second BOS when the prompt text already starts with it), EOS after each
/// completion unless it already ends with EOS. A string prompt is used as written; a conversation is rendered by the
/// template with the assistant header, and each completion is what the template writes for an assistant turn
/// (content and end-of-turn marker). Truncation: the prompt keeps its last `maxPromptLength` tokens (BOS kept in
/// front), then a completion that does not fit `maxSeqLength` with its prompt loses its end; a pair where nothing of
/// a completion fits is dropped.
public sealed class PreferenceEncoder
{
    /// The max prompt length when none is given: half the max sequence length, the ratio of TRL's DPOConfig defaults
    /// (max_prompt_length 512 of max_length 1024), so a cut prompt always leaves room for its completions.
    public static int DefaultMaxPromptLength(int maxSeqLength) => Math.Max(1, maxSeqLength / 2);

    readonly ExampleBuilder _builder;
    readonly ITokenizer _tokenizer;
    readonly int _eos;

    public PromptTemplate Template { get; }
    public int MaxSeqLength { get; }
    public int MaxPromptLength { get; }

    /// <param name="addBos">BOS in front of prompts; null follows the tokenizer's config, as supervised training does.</param>
    public PreferenceEncoder(ITokenizer tokenizer, PromptTemplate template, int maxSeqLength, int maxPromptLength, bool? addBos = null)
    {
        if (maxPromptLength < 1) throw new UserException($"max prompt length must be at least 1 token, got {maxPromptLength}");
        _builder = new ExampleBuilder(tokenizer, template, new ExampleBuilderOptions { MaxSeqLength = maxSeqLength, AddBos = addBos });
        _tokenizer = tokenizer;
        _eos = tokenizer.EosId ?? throw new UserException("the tokenizer has no EOS token: preference completions end with EOS");
        Template = template;
        MaxSeqLength = maxSeqLength;
        MaxPromptLength = maxPromptLength;
    }

    /// Whether prompts start with BOS.
    public bool AddsBos => _builder.AddsBos;
    public ITokenizer Tokenizer => _tokenizer;

    /// Encodes and truncates every record; fails when no pair is left. `source` (the data file) is named then.
    public PreferenceSet Encode(IEnumerable<PreferenceRecord> records, string? source = null)
    {
        var pairs = new List<TokenizedPair>();
        int seen = 0, dropped = 0, promptsCut = 0, completionsCut = 0;
        long prompt = 0, chosen = 0, rejected = 0;
        foreach (var record in records)
        {
            seen++;
            var e = EncodePair(record);
            if (e.Kept is null) { dropped++; continue; }
            var pair = e.Kept with { Index = pairs.Count };
            pairs.Add(pair);
            if (e.PromptCut) promptsCut++;
            completionsCut += (e.ChosenCut ? 1 : 0) + (e.RejectedCut ? 1 : 0);
            prompt += pair.Prompt.Length;
            chosen += pair.Chosen.Length;
            rejected += pair.Rejected.Length;
        }
        var where = source is null ? "" : $"{source}: ";
        if (seen == 0) throw new UserException($"{where}the preference data has no pairs");
        if (pairs.Count == 0)
            throw new UserException($"{where}all {seen} pairs were dropped: in each the prompt (at most {MaxPromptLength} tokens, the max prompt length) " +
                $"leaves no room for a completion token within the max sequence length ({MaxSeqLength} tokens); raise the max sequence length or lower the max prompt length");
        var stats = new PreferenceStats(pairs.Count, dropped, promptsCut, completionsCut, prompt, chosen, rejected);
        return new PreferenceSet(pairs, stats, Note(stats));
    }

    /// The run log's line: what was kept, cut and dropped, at which limits, and the tokens per part.
    string Note(PreferenceStats s) =>
        $"preference pairs: {s.Pairs} kept, {s.Dropped} dropped (no completion token fits after the prompt); " +
        $"{s.PromptsCut} prompts cut to their last {MaxPromptLength} tokens (max prompt length), " +
        $"{s.CompletionsCut} completions cut to fit {MaxSeqLength} tokens with their prompt (max sequence length); " +
        $"tokens: prompts {s.PromptTokens}, chosen {s.ChosenTokens}, rejected {s.RejectedTokens}";

    /// One record at full length and truncated.
    public EncodedPair EncodePair(PreferenceRecord record)
    {
        var (promptText, chosenText, rejectedText) = Texts(record);
        var prompt = _builder.EncodePromptText(promptText);
        var chosen = Completion(chosenText);
        var rejected = Completion(rejectedText);

        var keptPrompt = prompt;
        bool promptCut = prompt.Length > MaxPromptLength;
        if (promptCut)
        {
            bool bos = _tokenizer.BosId is int b && prompt[0] == b;
            keptPrompt = bos ? [prompt[0], .. prompt[^(MaxPromptLength - 1)..]] : prompt[^MaxPromptLength..];
        }
        int room = MaxSeqLength - keptPrompt.Length;
        TokenizedPair? kept = room <= 0 ? null
            : new TokenizedPair(0, keptPrompt, Fit(chosen, room), Fit(rejected, room), record.Source, record.Line);
        return new EncodedPair(record, prompt, chosen, rejected, kept, promptCut, room > 0 && chosen.Length > room, room > 0 && rejected.Length > room);
    }

    static int[] Fit(int[] completion, int room) => completion.Length > room ? completion[..room] : completion;

    int[] Completion(string text)
    {
        var ids = _builder.EncodeText(text);
        if (ids.Count == 0 || ids[^1] != _eos) ids.Add(_eos);
        return ids.ToArray();
    }

    /// The prompt's text and each completion's, as encoded.
    (string Prompt, string Chosen, string Rejected) Texts(PreferenceRecord record)
    {
        switch (record)
        {
            case TextPreference t:
                return (t.Prompt, t.Chosen, t.Rejected);
            case ChatPreference c:
                string prompt;
                try { prompt = Template.RenderPrompt(c.Prompt); }
                catch (UserException e) when (!e.Message.StartsWith(c.Origin, StringComparison.Ordinal))
                {
                    throw new UserException($"{c.Origin}: field '{PreferenceReader.Prompt}': {e.Message}", e);
                }
                return (prompt, AssistantTurn(c, prompt, c.Chosen), AssistantTurn(c, prompt, c.Rejected));
            default:
                throw new ArgumentException($"no encoding for {record.GetType().Name}");
        }
    }

    /// What the template writes after the prompt for the completion's assistant turn(s): the text the supervised
    /// path makes the target of that turn (content and end-of-turn marker).
    string AssistantTurn(ChatPreference c, string prompt, IReadOnlyList<ChatMessage> completion)
    {
        var whole = PromptTemplate.Concat(Template.Render(new ChatRecord(c.Origin, [.. c.Prompt, .. completion])));
        if (!whole.StartsWith(prompt, StringComparison.Ordinal))
            throw new InvalidOperationException($"template '{Template.Name}' renders a conversation that does not start with its generation prompt");
        return whole[prompt.Length..];
    }
}
