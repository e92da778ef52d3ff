using System.Text;
using LoraLab.Tokenization;

namespace LoraLab.Evaluation;

/// Turns generated ids into text as they arrive. A character may span several tokens (byte fallback, byte-level
/// BPE), so the tokens' bytes (a continuation keeps its leading spaces) go through a UTF-8 decoder that holds an incomplete sequence until the next token completes it.
public sealed class TokenStream
{
    readonly ITokenizer _tok;
    readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();

    public TokenStream(ITokenizer tok) => _tok = tok;

    public string Push(int id)
    {
        if (_tok.SpecialTokens.Values.Contains(id) || id == _tok.EosId || id == _tok.BosId) return "";
        var bytes = _tok.TokenBytes(id);
        var chars = new char[_utf8.GetCharCount(bytes, 0, bytes.Length, flush: false)];
        _utf8.GetChars(bytes, 0, bytes.Length, chars, 0, flush: false);
        return new string(chars);
    }

    public string Flush()
    {
        var chars = new char[_utf8.GetCharCount(Array.Empty<byte>(), 0, 0, flush: true)];
        _utf8.GetChars(Array.Empty<byte>(), 0, 0, chars, 0, flush: true);
        return new string(chars);
    }
}
