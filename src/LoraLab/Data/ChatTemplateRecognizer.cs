using System.Text.RegularExpressions;

namespace LoraLab.Data;

/// Maps a model's Jinja chat template to one of LoraLab's templates by its markers. Only plain forms are
/// accepted: a template that writes prose of its own (a default system prompt, tool instructions, a
/// knowledge-cutoff date) renders differently from ours whenever that prose appears, so it is not matched.
static class ChatTemplateRecognizer
{
    public static PromptTemplate? Recognize(string? jinja)
    {
        if (string.IsNullOrWhiteSpace(jinja) || WritesOwnProse(jinja)) return null;
        bool Has(params string[] markers) => markers.All(m => jinja.Contains(m, StringComparison.Ordinal));
        if (Has(ChatMLTemplate.Start, ChatMLTemplate.End)) return new ChatMLTemplate();
        if (Has(Llama3Template.StartHeader, Llama3Template.EndHeader, Llama3Template.Eot)) return new Llama3Template();
        // Mistral's template also uses [INST] but has no <<SYS>> block and a different spacing: not Llama 2.
        if (Has(Llama2ChatTemplate.BeginInst, Llama2ChatTemplate.EndInst, "<<SYS>>")) return new Llama2ChatTemplate();
        return null;
    }

    static readonly Regex StringLiteral = new(@"'(?:[^'\\]|\\.)*'|""(?:[^""\\]|\\.)*""", RegexOptions.Compiled);
    static readonly Regex RaiseCall = new(@"raise_exception\s*\(\s*(?:'(?:[^'\\]|\\.)*'|""(?:[^""\\]|\\.)*"")\s*\)", RegexOptions.Compiled);
    static readonly Regex ThreeWords = new(@"[A-Za-z]+\s+[A-Za-z]+\s+[A-Za-z]+", RegexOptions.Compiled);

    /// True when a string literal (outside raise_exception messages) holds three words in a row, or the
    /// template handles tools. Markers (`<|start_header_id|>`), role names and whitespace never do.
    static bool WritesOwnProse(string jinja)
    {
        var code = RaiseCall.Replace(jinja, "");
        if (Regex.IsMatch(code, @"\btools\b")) return true;
        return StringLiteral.Matches(code).Any(m => ThreeWords.IsMatch(m.Value));
    }
}
