using LoraLab.Tokenization;

namespace LoraLab.Data;

/// Turns records into token ids and labels. Each template segment is tokenized on its own and the ids
/// concatenated, so which tokens are targets follows the segment (the role of the text), never a search
/// for token ids; BOS is added once at the start, and every example ends with a labelled EOS (or the
/// template's end-of-turn token when the tokenizer has it as a special token). Prompts for generation are
/// encoded by the same code, so training and serving see identical ids.
public sealed class ExampleBuilder
{
    readonly ITokenizer _tokenizer;
    readonly PromptTemplate _template;
    readonly ExampleBuilderOptions _options;
    readonly bool _addBos;
    readonly int? _endOfTurnId;
    /// BOS/EOS strings (`<s>`, `</s>`) the tokenizer does not list as special tokens but templates write.
    readonly Dictionary<string, int> _markers = new(StringComparer.Ordinal);

    public ExampleBuilder(ITokenizer tokenizer, PromptTemplate template, ExampleBuilderOptions? options = null)
    {
        _tokenizer = tokenizer;
        _template = template;
        _options = options ?? new ExampleBuilderOptions();
        if (_options.MaxSeqLength < 2)
            throw new UserException($"max sequence length must be at least 2 tokens, got {_options.MaxSeqLength}");
        _addBos = _options.AddBos ?? tokenizer.AddBosByDefault;
        if (_addBos && tokenizer.BosId is null)
            throw new UserException("BOS was requested but the tokenizer has no BOS token");
        if (tokenizer.EosId is null && template.EndOfTurn is null)
            throw new UserException($"the tokenizer has no EOS token and template '{template.Name}' has no end-of-turn token: examples would never teach the model to stop");
        foreach (var id in new[] { tokenizer.BosId, tokenizer.EosId })
            if (id is int i && TokenString(i) is { Length: > 0 } s && !tokenizer.SpecialTokens.ContainsKey(s))
                _markers[s] = i;
        if (template.EndOfTurn is { } eot)
            _endOfTurnId = tokenizer.SpecialTokens.TryGetValue(eot, out var e) ? e : _markers.TryGetValue(eot, out var m) ? m : null;
    }

    public ExampleBuilderOptions Options => _options;
    public PromptTemplate Template => _template;
    public ITokenizer Tokenizer => _tokenizer;
    /// Whether examples and prompts start with BOS (the option, else the tokenizer's default).
    public bool AddsBos => _addBos;
    /// The template's end-of-turn token id when the tokenizer has it as one token.
    public int? EndOfTurnId => _endOfTurnId;

    /// Ids that end a response: EOS and, when it is a single token, the template's end-of-turn marker.
    public IReadOnlyList<int> StopTokenIds =>
        new[] { _tokenizer.EosId, _endOfTurnId }.OfType<int>().Distinct().ToArray();

    /// Builds every record, applying the length policy; fails when nothing trainable is left. `source` (the data
    /// file) is named in those failures.
    public BuiltDataset Build(IEnumerable<Record> records, string? source = null)
    {
        var kept = new List<TokenizedExample>();
        int seen = 0, dropped = 0, truncated = 0;
        long tokens = 0, targets = 0;
        foreach (var record in records)
        {
            seen++;
            var example = Encode(record);
            if (example.Length > _options.MaxSeqLength)
            {
                if (_options.LongExamples == LongExamplePolicy.Drop) { dropped++; continue; }
                example = Truncate(example);
                // Cut inside the prompt: only the end token would be left to learn, which teaches stopping mid-prompt.
                if (example.TargetTokens <= 1 && example.Labels[^1] != Data.Labels.Ignore) { dropped++; continue; }
                truncated++;
            }
            kept.Add(example);
            tokens += example.Length;
            targets += example.TargetTokens;
        }
        if (seen == 0) throw new UserException("the dataset has no records");
        if (kept.Count == 0) throw new UserException((source is null ? "" : $"{source}: ") + AllDropped(seen));
        if (targets == 0)
            throw new UserException($"no training targets: every label is masked in all {kept.Count} examples (check the template and the pre-tokenized labels)");
        return new BuiltDataset(kept, new DataStats(kept.Count, dropped, truncated, tokens, targets));
    }

    /// Why nothing is left, in terms of the policy in force and the flags that change it.
    string AllDropped(int seen) => _options.LongExamples == LongExamplePolicy.Drop
        ? $"all {seen} examples were dropped: each is longer than the maximum sequence length ({_options.MaxSeqLength} tokens, --max-seq-length) " +
          "and long examples are dropped (--long-examples drop); raise --max-seq-length or use --long-examples truncate"
        : $"all {seen} examples were dropped: in each the prompt alone fills the maximum sequence length ({_options.MaxSeqLength} tokens, --max-seq-length), " +
          "so truncating (--long-examples truncate) would leave no response to learn; raise --max-seq-length";

    /// One record as ids and labels, at full length.
    public TokenizedExample Encode(Record record)
    {
        if (record is TokenizedRecord t) return PassThrough(t);
        // Tokenize the growing text, not each segment alone: SentencePiece adds a dummy-prefix space at the start of
        // every Encode call, so per-segment ids would differ from the ids of the whole prompt that Python (and our
        // generate) sees. Each segment owns the tokens past the common prefix with the previous encoding; a token
        // merged across a boundary goes to the later segment. The final ids equal Encode(whole text).
        var ids = new List<int>();
        var labels = new List<int>();
        var text = new System.Text.StringBuilder();
        foreach (var segment in _template.Render(record))
        {
            bool target = segment.Trainable || _options.TrainOnInputs;
            text.Append(segment.Text);
            var current = EncodeText(text.ToString());
            int common = 0;
            while (common < ids.Count && common < current.Count && ids[common] == current[common]) common++;
            ids.RemoveRange(common, ids.Count - common);
            labels.RemoveRange(common, labels.Count - common);
            for (int i = common; i < current.Count; i++)
            {
                ids.Add(current[i]);
                labels.Add(target ? current[i] : Data.Labels.Ignore);
            }
        }
        if (_addBos && (ids.Count == 0 || ids[0] != _tokenizer.BosId))
        {
            ids.Insert(0, _tokenizer.BosId!.Value);
            labels.Insert(0, Data.Labels.Ignore);
        }
        // The stop token must be a target, or the tuned model never learns to stop.
        bool endsWithTurnEnd = _endOfTurnId is int e && ids.Count > 0 && ids[^1] == e && labels[^1] != Data.Labels.Ignore;
        if (!endsWithTurnEnd)
        {
            int eos = _tokenizer.EosId ?? throw new UserException(
                $"{record.Origin}: the tokenizer has no EOS token and '{_template.EndOfTurn}' is not one of its special tokens");
            ids.Add(eos);
            labels.Add(eos);
        }
        return new TokenizedExample(ids.ToArray(), labels.ToArray());
    }

    /// Ids of a generation prompt, rendered and tokenized exactly as the prompt part of a training example.
    public int[] EncodePrompt(IReadOnlyList<ChatMessage> messages) => EncodePromptSegments(_template.RenderPromptSegments(messages));

    public int[] EncodePrompt(string instruction, string? input = null) => EncodePromptSegments(_template.RenderPromptSegments(instruction, input));

    int[] EncodePromptSegments(IReadOnlyList<Segment> segments) => EncodePromptText(string.Concat(segments.Select(s => s.Text)));

    /// Ids of prompt text already rendered: BOS in front when examples get one and the text does not already start
    /// with it (the preference pipeline's prompts go through here too, so both add BOS by one rule).
    public int[] EncodePromptText(string text)
    {
        var ids = EncodeText(text);
        if (_addBos && (ids.Count == 0 || ids[0] != _tokenizer.BosId)) ids.Insert(0, _tokenizer.BosId!.Value);
        return ids.ToArray();
    }

    /// Tokenizes text, mapping BOS/EOS strings the tokenizer would otherwise split into pieces to their ids.
    public List<int> EncodeText(string text)
    {
        var ids = new List<int>();
        int start = 0;
        while (start < text.Length)
        {
            var (at, marker) = NextMarker(text, start);
            if (at < 0) { ids.AddRange(_tokenizer.Encode(text[start..])); break; }
            if (at > start) ids.AddRange(_tokenizer.Encode(text[start..at]));
            ids.Add(_markers[marker!]);
            start = at + marker!.Length;
        }
        return ids;
    }

    (int At, string? Marker) NextMarker(string text, int from)
    {
        (int, string?) best = (-1, null);
        foreach (var m in _markers.Keys)
        {
            int at = text.IndexOf(m, from, StringComparison.Ordinal);
            if (at >= 0 && (best.Item1 < 0 || at < best.Item1)) best = (at, m);
        }
        return best;
    }

    TokenizedExample PassThrough(TokenizedRecord t)
    {
        for (int i = 0; i < t.InputIds.Length; i++)
            if (t.InputIds[i] < 0 || t.InputIds[i] >= _tokenizer.VocabSize)
                throw new UserException($"{t.Origin}: field 'input_ids[{i}]' = {t.InputIds[i]} is outside the vocabulary (0..{_tokenizer.VocabSize - 1})");
        if (t.Labels is { } given)
            for (int i = 0; i < given.Length; i++)
                if (given[i] != Data.Labels.Ignore && (given[i] < 0 || given[i] >= _tokenizer.VocabSize))
                    throw new UserException($"{t.Origin}: field 'labels[{i}]' = {given[i]} is neither {Data.Labels.Ignore} nor a token id");
        return new TokenizedExample((int[])t.InputIds.Clone(), (int[])(t.Labels ?? t.InputIds).Clone());
    }

    /// Keeps the start; the end token (EOS or end-of-turn) stays last so truncated examples still teach stopping.
    public TokenizedExample Truncate(TokenizedExample e)
    {
        int max = _options.MaxSeqLength;
        bool keepLast = StopTokenIds.Contains(e.InputIds[^1]);
        int[] Cut(int[] a) => keepLast ? [.. a.AsSpan(0, max - 1), a[^1]] : a[..max];
        return new TokenizedExample(Cut(e.InputIds), Cut(e.Labels));
    }

    string? TokenString(int id) =>
        _tokenizer.SpecialTokens.FirstOrDefault(p => p.Value == id).Key ?? _tokenizer.TokenText(id);
}
