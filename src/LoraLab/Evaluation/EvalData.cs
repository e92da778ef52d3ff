using System.Text.Json;
using LoraLab.Data;
using LoraLab.Tokenization;

namespace LoraLab.Evaluation;

/// Reads `loralab eval` input: JSONL whose lines are {"input_ids": [...]} or {"text": "..."}.
public static class EvalData
{
    public static List<IReadOnlyList<int>> Load(string path, Func<ITokenizer> tokenizer, DataReadOptions? options = null)
    {
        options ??= DataReadOptions.Default;
        if (!File.Exists(path)) throw new UserException($"{path}: data file not found");
        var result = new List<IReadOnlyList<int>>();
        using var stream = RecordStream.Open(path, options);
        if (stream.IsArray()) throw NeedsTemplate(path, 1, "a JSON array (eval reads text and input_ids records as JSON Lines)");
        foreach (var raw in stream.Lines())
        {
            long lineNo = raw.Line;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(RecordStream.Decode(raw, path, options)); }
            catch (JsonException e) { throw new UserException($"{path}:{lineNo}: malformed JSON ({e.Message.Split('.')[0]})"); }
            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new UserException($"{path}:{lineNo}: expected a JSON object");
                if (root.TryGetProperty("input_ids", out var ids))
                {
                    if (ids.ValueKind != JsonValueKind.Array) throw new UserException($"{path}:{lineNo}: field 'input_ids' must be an array of integers");
                    var list = new List<int>();
                    foreach (var e in ids.EnumerateArray())
                    {
                        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int id) || id < 0)
                            throw new UserException($"{path}:{lineNo}: field 'input_ids' must hold non-negative integers");
                        list.Add(id);
                    }
                    result.Add(list);
                }
                else if (root.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                {
                    var tok = tokenizer();
                    result.Add(tok.Encode(text.GetString()!, addBos: tok.AddBosByDefault));
                }
                else if (InstructionFields.FirstOrDefault(f => root.TryGetProperty(f, out _)) is { } field)
                    throw NeedsTemplate(path, lineNo, $"a record with '{field}'");
                else throw new UserException($"{path}:{lineNo}: record has neither 'input_ids' nor 'text'"
                    + (root.TryGetProperty("chosen", out _) && root.TryGetProperty("rejected", out _) ? "; this is preference data: score it with --task dpo" : ""));
            }
        }
        if (result.Count == 0) throw new UserException($"{path}: no records");
        return result;
    }

    static readonly string[] InstructionFields = ["instruction", "messages", "conversations"];

    /// Instruction or chat data is scored on its responses, which needs the prompt template it is rendered with.
    static UserException NeedsTemplate(string path, long line, string what) => new(
        $"{path}:{line}: {what}; instruction and chat records are scored on their responses, which needs their prompt template: " +
        $"pass --template NAME ({string.Join(", ", PromptTemplate.Names)}) or --adapter DIR (an adapter trained by loralab records its template)");

    public static void CheckVocab(IEnumerable<IReadOnlyList<int>> seqs, int vocab, string path)
    {
        int n = 0;
        foreach (var s in seqs)
        {
            n++;
            foreach (var id in s)
                if (id >= vocab) throw new UserException($"{path}: record {n} has token id {id}, beyond the model's vocabulary ({vocab})");
        }
    }
}
