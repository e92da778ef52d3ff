using LoraLab.Adapters;
using LoraLab.Data;
using LoraLab.Tokenization;

namespace LoraLab.Cli.Commands;

/// Which template renders a serving prompt: `--raw` none; `--template NAME` that one; otherwise the template the
/// adapter was trained with (its loralab_adapter.json), so training and serving render prompts identically.
public static class PromptChoice
{
    /// The builder that renders prompts, or null for untemplated text. Mismatches go to stderr as one-line warnings.
    public static ExampleBuilder? Resolve(ITokenizer tok, string? template, bool raw, AdapterLoadReport? adapter)
    {
        if (raw)
        {
            if (template is not null) throw new UserException("give --template NAME or --raw, not both");
            return null;
        }
        var warnings = new List<string>();
        var builder = ServingTemplate.Builder(tok, template, adapter?.Provenance, warnings);
        warnings.ForEach(Warn);
        return builder;
    }

    static void Warn(string message) => Console.Error.WriteLine($"warning: {message}");
}
