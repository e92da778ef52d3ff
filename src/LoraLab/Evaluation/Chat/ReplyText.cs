using System.Text;
using LoraLab.Tokenization;

namespace LoraLab.Evaluation.Chat;

/// A reply's text as its tokens arrive: exact text through <see cref="TokenStream"/>, ended by the template's
/// end-of-turn marker even when the tokenizer spells it in several tokens (then it is no stop id). Text that could be
/// the start of the marker is held back until a later token shows whether it is, so the marker is never printed.
public sealed class ReplyText
{
    readonly TokenStream _stream;
    readonly string? _endOfTurn;
    readonly StringBuilder _text = new();
    int _shown;

    public ReplyText(ITokenizer tokenizer, string? endOfTurn)
    {
        _stream = new TokenStream(tokenizer);
        _endOfTurn = string.IsNullOrEmpty(endOfTurn) ? null : endOfTurn;
    }

    /// Whether the end-of-turn marker has appeared (nothing after it is kept).
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
        if (_endOfTurn is not null && !Ended)
        {
            int at = s.IndexOf(_endOfTurn, _shown, StringComparison.Ordinal);
            if (at >= 0) { Ended = true; _text.Length = at; end = at; }
            else if (!final) end -= PartialMarkerAtEnd(s);
        }
        var shown = s[_shown..end];
        _shown = end;
        return shown;
    }

    /// Length of the longest end of `s` that begins the marker.
    int PartialMarkerAtEnd(string s)
    {
        for (int n = Math.Min(_endOfTurn!.Length - 1, s.Length - _shown); n > 0; n--)
            if (string.CompareOrdinal(s, s.Length - n, _endOfTurn, 0, n) == 0) return n;
        return 0;
    }
}
