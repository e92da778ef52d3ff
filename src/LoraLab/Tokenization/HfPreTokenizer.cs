using System.Text.Json;
using System.Text.RegularExpressions;

namespace LoraLab.Tokenization;

/// The `pre_tokenizer` of a Hugging Face tokenizer.json: cuts normalized text into words that BPE handles
/// one at a time. Covers ByteLevel, Split, Metaspace and Sequence of them. Split patterns run on .NET's regex
/// engine, which matches tokenizers' (Oniguruma) on these patterns except for letters and digits outside the
/// Basic Multilingual Plane: .NET sees their surrogate halves, so `\p{L}` / `\p{N}` do not match them.
internal abstract class HfPreTokenizer
{
    /// GPT-2's word pattern, used by ByteLevel when `use_regex` is on.
    const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// Appends the words of `piece`. `atTextStart`: the piece opens the whole input.
    public abstract void Split(string piece, bool atTextStart, List<string> output);

    /// Whether the words come out spelled in the byte-level alphabet.
    public virtual bool IsByteLevel => false;

    public static HfPreTokenizer? Build(JsonElement e, string file)
    {
        if (e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        var type = TokenizerJson.Str(e, "type");
        return type switch
        {
            "Sequence" => new SequenceStep([.. e.GetProperty("pretokenizers").EnumerateArray().Select(p => Build(p, file)).OfType<HfPreTokenizer>()]),
            "ByteLevel" => new ByteLevelStep(TokenizerJson.Bool(e, "add_prefix_space") ?? false,
                TokenizerJson.Bool(e, "use_regex") ?? true ? new Regex(Gpt2Pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled) : null),
            "Split" => new SplitStep(HfNormalizer.Pattern(e, file), TokenizerJson.Str(e, "behavior") ?? "Isolated",
                TokenizerJson.Bool(e, "invert") ?? false, file),
            "Metaspace" => MetaspaceStep.Create(e),
            _ => throw new UserException($"{file}: pre_tokenizer type '{type}' is not supported (supported: ByteLevel, Split, Metaspace, Sequence)"),
        };
    }

    sealed class SequenceStep(HfPreTokenizer[] steps) : HfPreTokenizer
    {
        public override bool IsByteLevel => steps.Any(s => s.IsByteLevel);

        public override void Split(string piece, bool atTextStart, List<string> output)
        {
            var current = new List<string> { piece };
            foreach (var step in steps)
            {
                var next = new List<string>();
                for (int i = 0; i < current.Count; i++) step.Split(current[i], atTextStart && i == 0, next);
                current = next;
            }
            output.AddRange(current);
        }
    }

    sealed class ByteLevelStep(bool addPrefixSpace, Regex? words) : HfPreTokenizer
    {
        public override bool IsByteLevel => true;

        public override void Split(string piece, bool atTextStart, List<string> output)
        {
            if (addPrefixSpace && !piece.StartsWith(' ')) piece = " " + piece;
            if (words is null) { output.Add(ByteLevelAlphabet.Encode(piece)); return; }
            foreach (var (start, length, _) in SplitStep.Spans(words, piece))
                output.Add(ByteLevelAlphabet.Encode(piece.Substring(start, length)));
        }
    }

    sealed class SplitStep : HfPreTokenizer
    {
        readonly Regex _pattern;
        readonly string _behavior;
        readonly bool _invert;

        public SplitStep(Regex pattern, string behavior, bool invert, string file)
        {
            if (behavior is not ("Isolated" or "Removed" or "MergedWithPrevious" or "MergedWithNext" or "Contiguous"))
                throw new UserException($"{file}: Split behavior '{behavior}' is not supported");
            (_pattern, _behavior, _invert) = (pattern, behavior, invert);
        }

        /// The piece cut into consecutive spans, each either a pattern match or the text between matches.
        public static List<(int Start, int Length, bool IsMatch)> Spans(Regex pattern, string piece)
        {
            var spans = new List<(int, int, bool)>();
            int pos = 0;
            for (var m = pattern.Match(piece); m.Success; m = m.NextMatch())
            {
                if (m.Length == 0) continue;
                if (m.Index > pos) spans.Add((pos, m.Index - pos, false));
                spans.Add((m.Index, m.Length, true));
                pos = m.Index + m.Length;
            }
            if (pos < piece.Length) spans.Add((pos, piece.Length - pos, false));
            return spans;
        }

        public override void Split(string piece, bool atTextStart, List<string> output)
        {
            // Each span: [start, end) and whether it is a delimiter under this behavior.
            var parts = new List<(int Start, int End, bool Delimiter)>();
            foreach (var (start, length, isMatch) in Spans(_pattern, piece)) parts.Add((start, start + length, isMatch != _invert));
            var merged = new List<(int Start, int End)>();
            for (int i = 0; i < parts.Count; i++)
            {
                var (s, e, delim) = parts[i];
                switch (_behavior)
                {
                    case "Removed":
                        if (!delim) merged.Add((s, e));
                        break;
                    case "Isolated":
                        merged.Add((s, e));
                        break;
                    case "MergedWithPrevious":
                        if (delim && merged.Count > 0 && merged[^1].End == s) merged[^1] = (merged[^1].Start, e);
                        else merged.Add((s, e));
                        break;
                    case "MergedWithNext":
                        if (i > 0 && parts[i - 1].Delimiter && merged.Count > 0 && merged[^1].End == s) merged[^1] = (merged[^1].Start, e);
                        else merged.Add((s, e));
                        break;
                    case "Contiguous":
                        if (delim && i > 0 && parts[i - 1].Delimiter) merged[^1] = (merged[^1].Start, e);
                        else merged.Add((s, e));
                        break;
                }
            }
            foreach (var (s, e) in merged) output.Add(piece[s..e]);
        }
    }

    /// SentencePiece-style whitespace: spaces become "▁", one is prepended ("always", or "first": only at the
    /// start of the input), and with `split` each word starts at a "▁".
    sealed class MetaspaceStep(char replacement, string prependScheme, bool split) : HfPreTokenizer
    {
        public static MetaspaceStep Create(JsonElement e)
        {
            var replacement = TokenizerJson.Str(e, "replacement") is { Length: > 0 } r ? r[0] : '\u2581';
            // Older files say add_prefix_space instead of prepend_scheme.
            var scheme = TokenizerJson.Str(e, "prepend_scheme") ?? (TokenizerJson.Bool(e, "add_prefix_space") == false ? "never" : "always");
            return new MetaspaceStep(replacement, scheme, TokenizerJson.Bool(e, "split") ?? true);
        }

        public override void Split(string piece, bool atTextStart, List<string> output)
        {
            piece = piece.Replace(' ', replacement);
            bool prepend = prependScheme == "always" || (prependScheme == "first" && atTextStart);
            if (prepend && !piece.StartsWith(replacement)) piece = replacement + piece;
            if (!split) { output.Add(piece); return; }
            int start = 0;
            for (int i = 1; i <= piece.Length; i++)
            {
                if (i == piece.Length || piece[i] == replacement)
                {
                    if (i > start) output.Add(piece[start..i]);
                    start = i;
                }
            }
        }
    }
}
