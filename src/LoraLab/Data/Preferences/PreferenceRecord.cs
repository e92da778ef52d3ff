namespace LoraLab.Data.Preferences;

/// One preference row as read, before any template or tokenizer: a prompt, the preferred completion and the
/// dispreferred one. `Origin` says where it is for messages, as the supervised readers write it ("file.jsonl:3",
/// "file.json: record [2]", "file.parquet: row 4"); `Source` is the file and `Line` the number in `Origin` (JSON
/// Lines line, JSON array element, Parquet row).
public abstract record PreferenceRecord(string Origin, string Source, int Line);

/// TRL's standard form with plain strings: the prompt is used as written, no template.
public sealed record TextPreference(string Origin, string Source, int Line, string Prompt, string Chosen, string Rejected)
    : PreferenceRecord(Origin, Source, Line);

/// TRL's conversational form: the prompt is a conversation ending with a user turn (rendered by the run's template
/// with the assistant header), each completion the assistant's messages.
public sealed record ChatPreference(string Origin, string Source, int Line, IReadOnlyList<ChatMessage> Prompt,
    IReadOnlyList<ChatMessage> Chosen, IReadOnlyList<ChatMessage> Rejected) : PreferenceRecord(Origin, Source, Line);
