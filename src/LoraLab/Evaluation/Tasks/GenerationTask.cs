using System.Text.RegularExpressions;
using LoraLab.Models;
using LoraLab.Tokenization;

namespace LoraLab.Evaluation.Tasks;

/// One generation question's outcome: what the model wrote, what was read from it, and whether that is the answer.
public sealed record GenerationOutcome(string Reply, string Prediction, string Answer, bool Correct);

public sealed record GenerationTaskResult(IReadOnlyList<GenerationOutcome> Examples)
{
    public TaskScore ExactMatch => TaskScore.Mean("exact_match", Examples.Select(e => e.Correct ? 1.0 : 0.0).ToList());
}

/// How a generation prompt becomes tokens, and which tokens end the reply.
public sealed record PromptEncoding(Func<string, string?, int[]> Encode, IReadOnlyCollection<int> StopIds)
{
    /// Plain text as `loralab generate` encodes it (BOS when the tokenizer asks for it; an input on the next line), ended by EOS.
    public static PromptEncoding Plain(ITokenizer tok) =>
        new((p, input) => tok.Encode(string.IsNullOrEmpty(input) ? p : p + "\n" + input, addBos: tok.AddBosByDefault).ToArray(), tok.EosId is int e ? [e] : []);

    /// The user's turn of a prompt template, ended by the template's stop tokens.
    public static PromptEncoding Template(Data.ExampleBuilder builder) => new((p, input) => builder.EncodePrompt(p, input), builder.StopTokenIds.ToArray());
}

/// Generation tasks scored by exact match: greedy decoding to a stop token or the token limit; the prediction is
/// the reply's first line, trimmed, or with an answer pattern the first capture group of its first match in the
/// whole reply (the whole match when the pattern has no group; nothing when it does not match).
public static class GenerationTask
{
    public const int DefaultMaxNewTokens = 32;

    public static GenerationTaskResult Score(CausalLM model, ITokenizer tok, PromptEncoding encoding, IReadOnlyList<GenerationExample> examples,
        int maxNewTokens = DefaultMaxNewTokens, Regex? answerPattern = null)
    {
        var opts = new SamplingOptions { MaxNewTokens = maxNewTokens, Temperature = 0, StopIds = encoding.StopIds };
        using (EvalMode.On(model))
        {
            var outcomes = new List<GenerationOutcome>(examples.Count);
            foreach (var e in examples)
            {
                var generated = TextGenerator.Generate(model, WithinContext(encoding.Encode(e.Prompt, e.Input), model.Config.MaxPositionEmbeddings, maxNewTokens), opts);
                var reply = tok.Decode(generated.Tokens, skipSpecialTokens: true);
                var prediction = Extract(reply, answerPattern);
                outcomes.Add(new GenerationOutcome(reply, prediction, e.Answer, string.Equals(prediction, e.Answer.Trim(), StringComparison.Ordinal)));
            }
            return new GenerationTaskResult(outcomes);
        }
    }

    public static string Extract(string reply, Regex? answerPattern)
    {
        if (answerPattern is null)
        {
            var text = reply.TrimStart();
            int nl = text.IndexOfAny(['\r', '\n']);
            return (nl < 0 ? text : text[..nl]).Trim();
        }
        var m = answerPattern.Match(reply);
        if (!m.Success) return "";
        return (m.Groups.Count > 1 ? m.Groups[1].Value : m.Value).Trim();
    }

    /// --answer-regex: a bad pattern is the user's error, named with the flag.
    public static Regex? Pattern(string? pattern)
    {
        if (pattern is null) return null;
        try { return new Regex(pattern, RegexOptions.CultureInvariant); }
        catch (ArgumentException e) { throw new UserException($"--answer-regex {pattern}: not a valid regular expression ({e.Message})"); }
    }

    /// The prompt's last tokens that leave room for the answer in the model's context, as the harness's
    /// generate_until keeps them (a longer prompt would run positions past max_position_embeddings).
    public static IReadOnlyList<int> WithinContext(IReadOnlyList<int> prompt, int maxPositions, int maxNewTokens)
    {
        int room = maxPositions - maxNewTokens;
        if (room < 1) throw new UserException($"--max-new-tokens {maxNewTokens} leaves no room for a prompt in the model's context ({maxPositions} tokens)");
        return prompt.Count <= room ? prompt : prompt.Skip(prompt.Count - room).ToArray();
    }
}
