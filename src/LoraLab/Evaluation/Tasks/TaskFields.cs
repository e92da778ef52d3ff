using System.Text.Json;
using System.Text.Json.Nodes;

namespace LoraLab.Evaluation.Tasks;

/// Which column holds each field of the plain layout (`--field context=question`): context, choices and gold for
/// multiple choice, prompt and answer for generation; unnamed fields are read from the column of their own name.
public sealed class TaskFields
{
    public static readonly string[] Names = ["context", "choices", "gold", "prompt", "answer"];
    readonly Dictionary<string, string> _columns = new(StringComparer.Ordinal);

    public static TaskFields Parse(IEnumerable<string>? overrides)
    {
        var fields = new TaskFields();
        foreach (var o in overrides ?? [])
        {
            int eq = o.IndexOf('=');
            if (eq <= 0 || eq == o.Length - 1) throw new UserException($"--field {o}: expected FIELD=COLUMN, e.g. --field context=question");
            string field = o[..eq].Trim(), column = o[(eq + 1)..].Trim();
            if (!Names.Contains(field)) throw new UserException($"--field {o}: unknown field '{field}' (one of {string.Join(", ", Names)})");
            fields._columns[field] = column;
        }
        return fields;
    }

    public bool Any => _columns.Count > 0;
    public string Column(string field) => _columns.GetValueOrDefault(field, field);

    public JsonNode Require(JsonObject row, string field, string where)
    {
        var column = Column(field);
        return row[column] ?? throw new UserException($"{where}: no '{column}' column" + (column == field ? $" (name another with --field {field}=COLUMN)" : ""));
    }

    public string String(JsonObject row, string field, string where) => AsString(Require(row, field, where), Column(field), where);

    public static string AsString(JsonNode node, string column, string where) => node.GetValueKind() switch
    {
        JsonValueKind.String => node.GetValue<string>(),
        JsonValueKind.Number => node.ToJsonString(),
        _ => throw new UserException($"{where}: '{column}' must be a string"),
    };

    public static List<string> Strings(JsonNode node, string column, string where) =>
        node is JsonArray a && a.Count > 0 ? a.Select(x => x is null ? throw new UserException($"{where}: '{column}' holds a null") : AsString(x, column, where)).ToList()
        : throw new UserException($"{where}: '{column}' must be a non-empty list of strings");

    /// An index: a number or a string of digits (Hellaswag's `label`).
    public static int Index(JsonNode node, string column, string where)
    {
        // a number's JSON text, not TryGetValue<int>: a Parquet column arrives as a long, which TryGetValue<int> refuses
        if (node.GetValueKind() == JsonValueKind.Number && int.TryParse(node.ToJsonString(), out int i)) return i;
        if (node.GetValueKind() == JsonValueKind.String && int.TryParse(node.GetValue<string>(), out i)) return i;
        throw new UserException($"{where}: '{column}' must be the index of the right choice (a whole number)");
    }
}
