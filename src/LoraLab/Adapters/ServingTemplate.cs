using LoraLab.Data;
using LoraLab.Tokenization;

namespace LoraLab.Adapters;

/// Which template renders a prompt for a trained adapter: the one named, else the one it was trained with (its
/// loralab_adapter.json), so training and scoring render prompts identically; null (untemplated text) with neither.
public static class ServingTemplate
{
    /// Mismatches between the named template or the tokenizer and the adapter's record go to `warnings`.
    public static ExampleBuilder? Builder(ITokenizer tok, string? template, AdapterProvenance? recorded, ICollection<string> warnings)
    {
        if (template is not null)
        {
            var chosen = PromptTemplate.Resolve(template, tok.ChatTemplate);
            if (recorded is not null && !string.Equals(recorded.Template, chosen.Name, StringComparison.OrdinalIgnoreCase))
                warnings.Add($"--template {template}: the adapter was trained with template '{recorded.Template}'; prompts will not look like its training data");
            return new ExampleBuilder(tok, chosen, new ExampleBuilderOptions { AddBos = recorded?.AddBos });
        }
        return recorded?.Builder(tok, warnings);
    }

    /// The tokenizer's own chat template (tokenizer_config.json) when it is a known form; null otherwise. What chats
    /// use when neither a template is named nor one recorded.
    public static ExampleBuilder? OwnChat(ITokenizer tok) =>
        PromptTemplate.FromChatTemplate(tok.ChatTemplate) is { } own ? new ExampleBuilder(tok, own) : null;
}
