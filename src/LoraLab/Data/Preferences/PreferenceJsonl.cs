using System.Text.Json;

namespace LoraLab.Data.Preferences;

/// Preference records back as JSON Lines in TRL's standard form (what PreferenceReader reads): a run's held-out
/// pairs as RUN_DIR/val.jsonl, for `eval --task dpo` to score again.
public static class PreferenceJsonl
{
    public static void Write(string path, IEnumerable<PreferenceRecord> records) =>
        IO.AtomicFile.WriteAllText(path, string.Concat(records.Select(r => ToJson(r) + "\n")));

    public static string ToJson(PreferenceRecord record) => record switch
    {
        TextPreference t => JsonSerializer.Serialize(new { prompt = t.Prompt, chosen = t.Chosen, rejected = t.Rejected }, RecordJsonl.Options),
        ChatPreference c => JsonSerializer.Serialize(new { prompt = Messages(c.Prompt), chosen = Messages(c.Chosen), rejected = Messages(c.Rejected) }, RecordJsonl.Options),
        _ => throw new ArgumentException($"no JSONL form for {record.GetType().Name}"),
    };

    static object Messages(IReadOnlyList<ChatMessage> messages) => messages.Select(m => new { role = m.Role, content = m.Content });
}
