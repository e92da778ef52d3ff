using System.Text.RegularExpressions;

namespace LoraLab.Tokenization;

/// Cuts text at occurrences of added tokens: leftmost match first, the longest token among those starting
/// there (Hugging Face's leftmost-longest rule). The text between matches goes on to normal tokenization.
internal sealed class AddedTokenSplitter
{
    readonly Regex? _pattern;
    readonly Dictionary<string, AddedToken> _byContent;

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens)
    {
        _byContent = new Dictionary<string, AddedToken>(StringComparer.Ordinal);
        foreach (var t in tokens) if (t.Content.Length > 0) _byContent[t.Content] = t;
        if (_byContent.Count == 0) return;
        // Alternation tries alternatives in order, so longest-first ordering gives leftmost-longest.
        var alternatives = _byContent.Values
            .OrderByDescending(t => t.Content.Length).ThenBy(t => t.Content, StringComparer.Ordinal)
            .Select(t => (t.LStrip ? @"\s*" : "") + "(" + Regex.Escape(t.Content) + ")" + (t.RStrip ? @"\s*" : ""));
        _pattern = new Regex(string.Join("|", alternatives), RegexOptions.CultureInvariant);
    }

    /// Pieces of `text` in order: plain text (Token null) or one added token (Text is its content).
    public IEnumerable<(string Text, AddedToken? Token, int Start)> Split(string text)
    {
        if (_pattern is null)
        {
            if (text.Length > 0) yield return (text, null, 0);
            yield break;
        }
        int pos = 0;
        for (var m = _pattern.Match(text); m.Success; m = m.NextMatch())
        {
            if (m.Index > pos) yield return (text[pos..m.Index], null, pos);
            var content = m.Groups.Values.Skip(1).First(g => g.Success).Value;
            yield return (content, _byContent[content], m.Index);
            pos = m.Index + m.Length;
        }
        if (pos < text.Length) yield return (text[pos..], null, pos);
    }
}
