using LoraLab.Data;
using LoraLab.Tokenization;

namespace LoraLab.Evaluation.Tasks;

/// The tokens of a context and of the continuation scored after it.
public sealed record LoglikelihoodRequest(int[] Context, int[] Continuation);

/// How a (context, continuation) pair becomes tokens.
public interface IRequestEncoder
{
    /// The text put between a multiple-choice context and each choice.
    string ChoiceDelimiter { get; }
    LoglikelihoodRequest Encode(string context, string continuation, string? input = null);
}

/// lm-evaluation-harness's split for untemplated text: trailing whitespace of the context moves to the start of the
/// continuation, context + continuation are tokenised together, and the continuation is the tokens past the count
/// of the context's own tokens (so a token merged across the boundary is scored). No BOS, as the harness's default
/// for causal models; an empty context is the BOS token (EOS when there is none). An input goes on the context's next line.
public sealed class PlainTextEncoder(ITokenizer tok) : IRequestEncoder
{
    public string ChoiceDelimiter => " ";

    public LoglikelihoodRequest Encode(string context, string continuation, string? input = null)
    {
        if (!string.IsNullOrEmpty(input)) context = context + "\n" + input;
        int kept = context.TrimEnd().Length;
        if (kept < context.Length) { continuation = context[kept..] + continuation; context = context[..kept]; }
        if (context.Length == 0)
        {
            int prefix = tok.BosId ?? tok.EosId ?? throw new UserException("an empty context needs a BOS or EOS token to start from, and the tokenizer has neither");
            return new LoglikelihoodRequest([prefix], tok.Encode(continuation).ToArray());
        }
        var whole = tok.Encode(context + continuation);
        int n = tok.Encode(context).Count;
        return new LoglikelihoodRequest(whole.Take(n).ToArray(), whole.Skip(n).ToArray());
    }
}

/// A prompt template's rendering (an adapter's own, or --template): the context is the user's turn, the
/// continuation the response, tokenised as in a training example and ended before its stop token.
public sealed class TemplateEncoder(ExampleBuilder builder) : IRequestEncoder
{
    public string ChoiceDelimiter => "";
    public string TemplateName => builder.Template.Name;

    public LoglikelihoodRequest Encode(string context, string continuation, string? input = null)
    {
        var prompt = builder.EncodePrompt(context, input);
        var whole = builder.Encode(new AlpacaRecord("task", context, input ?? "", continuation)).InputIds;
        var stops = builder.StopTokenIds;
        var cont = whole.Skip(prompt.Length).TakeWhile(id => !stops.Contains(id)).ToArray();
        // An end-of-turn marker the tokenizer spells in ordinary tokens (chatml's <|im_end|> on a Llama 2 vocabulary)
        // is not a stop id: cut it off, or every choice would be scored with the marker's cost added.
        if (builder.Template.EndOfTurn is { Length: > 0 } marker) cont = cont[..WithoutMarker(builder.Tokenizer, cont, marker)];
        return new LoglikelihoodRequest(prompt, cont);
    }

    /// How many leading tokens of `tail` spell the response alone: tokens are dropped from the end while the text
    /// holds the marker or ends with the start of it.
    static int WithoutMarker(ITokenizer tok, int[] tail, string marker)
    {
        int k = tail.Length;
        while (k > 0)
        {
            var text = tok.Decode(tail[..k], skipSpecialTokens: false);
            bool endsWithPart = Enumerable.Range(1, marker.Length).Any(n => text.EndsWith(marker[..n], StringComparison.Ordinal));
            if (!text.Contains(marker, StringComparison.Ordinal) && !endsWithPart) break;
            k--;
        }
        return k;
    }
}
