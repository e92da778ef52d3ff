using System.Text.Encodings.Web;
using System.Text.Json;

namespace LoraLab.Data;

/// Writes records back as JSONL in the forms DatasetReader reads (Alpaca, messages, text, input_ids), e.g. a run's
/// validation split (RUN_DIR/val.jsonl), so what was held out can be scored again later.
public static class RecordJsonl
{
    internal static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(string path, IEnumerable<Record> records) => File.WriteAllLines(path, records.Select(ToJson));

    public static string ToJson(Record record) => record switch
    {
        AlpacaRecord a => JsonSerializer.Serialize(new { instruction = a.Instruction, input = a.Input, output = a.Output }, Options),
        ChatRecord c => JsonSerializer.Serialize(new { messages = c.Messages.Select(m => new { role = m.Role, content = m.Content }) }, Options),
        TextRecord t => JsonSerializer.Serialize(new { text = t.Text }, Options),
        TokenizedRecord k when k.Labels is null => JsonSerializer.Serialize(new { input_ids = k.InputIds }, Options),
        TokenizedRecord k => JsonSerializer.Serialize(new { input_ids = k.InputIds, labels = k.Labels }, Options),
        _ => throw new ArgumentException($"no JSONL form for {record.GetType().Name}"),
    };
}
