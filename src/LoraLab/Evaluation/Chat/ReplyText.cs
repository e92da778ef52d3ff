using System.Text;
using LoraLab.Tokenization;

namespace LoraLab.Evaluation.Chat;

/// A reply's text as its tokens arrive: exact text through <see cref="TokenStream"/>, ended by the template's
/// end-of-turn marker even when the tokenizer spells it in several tokens (then it is no stop id). Text that could be
/// the start of the marker is held back until a later token shows whether it is, so the marker is never printed.
/// A server's stop strings end the reply the same way.
public sealed class ReplyText
{
    readonly TokenStream _stream;
    readonly string[] _markers;
    readonly StringBuilder _text = new();
    int _shown;

    /// `endOfTurn` and every `stops` string end the reply at their first appearance.
    public ReplyText(ITokenizer tokenizer, string? endOfTurn, IEnumerable<string>? stops = null)
    {
        _stream = new TokenStream(tokenizer);
        _markers = new[] { endOfTurn }.Concat(stops ?? Array.Empty<string>()).Where(m => !string.IsNullOrEmpty(m)).Distinct().ToArray()!;
    }

    /// Whether the end-of-turn marker (or a stop string) has appeared (nothing after it is kept).
    public bool Ended { get; private set; }

    /// The reply so far, without the marker.
    public string Text => _text.ToString();

    /// Adds a token; returns the text that can be shown now.
    public string Push(int id)
    {
        if (Ended) return "";
        _text.Append(_stream.Push(id));
        return Release(final: false);
    }

    /// The text still held back (an incomplete character, a partial marker that never completed).
    public string Finish()
    {
        if (!Ended) _text.Append(_stream.Flush());
        return Release(final: true);
    }

    string Release(bool final)
    {
        var s = _text.ToString();
        int end = s.Length;
        if (_markers.Length > 0 && !Ended)
        {
            int at = _markers.Select(m => s.IndexOf(m, _shown, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            if (at >= 0) { Ended = true; _text.Length = at; end = at; }
            else if (!final) end -= _markers.Max(m => PartialMarkerAtEnd(s, m));
        }
        var shown = s[_shown..end];
        _shown = end;
        return shown;
    }

    /// Length of the longest end of `s` (past what was shown) that begins `marker`.
    int PartialMarkerAtEnd(string s, string marker)
    {
        for (int n = Math.Min(marker.Length - 1, s.Length - _shown); n > 0; n--)
            if (string.CompareOrdinal(s, s.Length - n, marker, 0, n) == 0) return n;
        return 0;
    }
}
