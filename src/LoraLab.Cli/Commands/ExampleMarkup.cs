using System.Text;
using LoraLab.Data;
using LoraLab.Tokenization;
using Spectre.Console;

namespace LoraLab.Cli.Commands;

/// Spectre markup of a previewed example: masked prompt tokens dim, trained target tokens green. Without colour
/// (redirected output, NO_COLOR) target text is wrapped in «…» instead, so the roles stay visible in a log.
public static class ExampleMarkup
{
    public const string MaskedStyle = "grey", TrainedStyle = "green";
    public const string TrainedOpen = "«", TrainedClose = "»";

    public static string Legend(bool colour) => colour
        ? $"[{MaskedStyle}]masked prompt (not trained)[/]  [{TrainedStyle}]trained target[/]"
        : $"masked prompt (not trained)  {TrainedOpen}trained target{TrainedClose}";

    public static string Render(ExamplePreview p, ITokenizer tok, bool colour) => Render(p.Runs, tok, colour);

    public static string Render(IEnumerable<TokenRun> runs, ITokenizer tok, bool colour)
    {
        var sb = new StringBuilder();
        foreach (var run in runs)
        {
            var text = Markup.Escape(Text(run.Ids, tok));
            if (colour) sb.Append('[').Append(run.Trained ? TrainedStyle : MaskedStyle).Append(']').Append(text).Append("[/]");
            else sb.Append(run.Trained ? TrainedOpen + text + TrainedClose : text);
        }
        return sb.ToString();
    }

    /// The tokens' text; special tokens (BOS, EOS, chat markers) by name, since they decode to nothing.
    static string Text(IReadOnlyList<int> ids, ITokenizer tok)
    {
        var names = tok.SpecialTokens.ToDictionary(p => p.Value, p => p.Key);
        if (tok.BosId is int b) names.TryAdd(b, tok.TokenText(b));
        if (tok.EosId is int e) names.TryAdd(e, tok.TokenText(e));
        var sb = new StringBuilder();
        var utf8 = Encoding.UTF8.GetDecoder();
        void Push(byte[] bytes, bool flush)
        {
            var chars = new char[utf8.GetCharCount(bytes, 0, bytes.Length, flush)];
            utf8.GetChars(bytes, 0, bytes.Length, chars, 0, flush);
            sb.Append(chars);
        }
        foreach (var id in ids)
        {
            if (names.TryGetValue(id, out var name)) { Push(Array.Empty<byte>(), true); sb.Append(name); }
            else Push(tok.TokenBytes(id), false);
        }
        Push(Array.Empty<byte>(), true);
        return sb.ToString();
    }
}
