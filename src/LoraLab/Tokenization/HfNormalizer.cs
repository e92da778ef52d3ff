using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LoraLab.Tokenization;

/// The `normalizer` of a Hugging Face tokenizer.json, as a string → string function. Covers what BPE LLM
/// tokenizers use: Sequence, Prepend, Replace, Unicode normal forms, Lowercase.
internal static class HfNormalizer
{
    public static Func<string, string>? Build(JsonElement e, string file)
    {
        if (e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        var type = TokenizerJson.Str(e, "type");
        switch (type)
        {
            case "Sequence":
                var steps = e.GetProperty("normalizers").EnumerateArray().Select(n => Build(n, file)).OfType<Func<string, string>>().ToList();
                return s => steps.Aggregate(s, (acc, step) => step(acc));
            case "Prepend":
                var prefix = TokenizerJson.Str(e, "prepend") ?? "";
                return s => s.Length == 0 ? s : prefix + s; // Hugging Face leaves empty input empty
            case "Replace":
                var replace = Pattern(e, file);
                var content = TokenizerJson.Str(e, "content") ?? "";
                return s => replace.Replace(s, _ => content);
            case "NFC": return s => s.Normalize(NormalizationForm.FormC);
            case "NFD": return s => s.Normalize(NormalizationForm.FormD);
            case "NFKC": return s => s.Normalize(NormalizationForm.FormKC);
            case "NFKD": return s => s.Normalize(NormalizationForm.FormKD);
            case "Lowercase": return s => s.ToLowerInvariant();
            default:
                throw new UserException($"{file}: normalizer type '{type}' is not supported (supported: Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase)");
        }
    }

    /// A tokenizers `pattern` field: {"String": literal} or {"Regex": pattern}.
    public static Regex Pattern(JsonElement e, string file)
    {
        var pattern = TokenizerJson.Obj(e, "pattern") ?? throw new UserException($"{file}: {TokenizerJson.Str(e, "type")} has no 'pattern'");
        if (TokenizerJson.Str(pattern, "String") is { } literal) return new Regex(Regex.Escape(literal), RegexOptions.CultureInvariant);
        if (TokenizerJson.Str(pattern, "Regex") is { } regex)
        {
            try { return new Regex(regex, RegexOptions.CultureInvariant | RegexOptions.Compiled); }
            catch (ArgumentException ex) { throw new UserException($"{file}: pattern /{regex}/ is not a regex .NET accepts: {ex.Message}", ex); }
        }
        throw new UserException($"{file}: pattern must be {{\"String\": ...}} or {{\"Regex\": ...}}");
    }
}
