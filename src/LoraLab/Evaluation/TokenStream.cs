using LoraLab.Tokenization;

namespace LoraLab.Evaluation;

/// Turns generated ids into text as they arrive. A character may span several tokens (byte fallback),
/// so text is held back while the decoded tail is an incomplete UTF-8 sequence.
public sealed class TokenStream
{
    readonly ITokenizer _tok;
    readonly List<int> _ids = new();
    int _emitted;

    public TokenStream(ITokenizer tok) => _tok = tok;

    public string Push(int id)
    {
        _ids.Add(id);
        var text = _tok.Decode(_ids);
        if (text.EndsWith('\uFFFD') || text.Length < _emitted) return "";
        var fresh = text[_emitted..];
        _emitted = text.Length;
        return fresh;
    }

    public string Flush()
    {
        var text = _tok.Decode(_ids);
        var rest = text.Length > _emitted ? text[_emitted..] : "";
        _emitted = text.Length;
        return rest;
    }
}
