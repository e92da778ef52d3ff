using System.Text.Json;

namespace LoraLab.Reporting;

/// Task scores a run folder holds: RUN_DIR/eval.json (RunFolder.EvalResult), the object `loralab eval --run RUN_DIR
/// --json` prints, saved there (`... --json > RUN_DIR/eval.json`). Every number in it becomes one score, named by
/// its path (`loss`, `tasks.demo-mc.acc`), in the file's order; strings, booleans and nulls are skipped, so the
/// report needs no change when eval reports more.
public static class TaskScores
{
    public static IReadOnlyDictionary<string, double> Read(string path)
    {
        var scores = new Dictionary<string, double>();
        if (!File.Exists(path)) return scores;
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new UserException($"{path}: not JSON ({e.Message.Split('.')[0]})"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new UserException($"{path}: expected a JSON object (what eval --json prints)");
            Collect(doc.RootElement, "", scores);
        }
        return scores;
    }

    static void Collect(JsonElement e, string path, Dictionary<string, double> into)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Number: into[path] = e.GetDouble(); break;
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject()) Collect(p.Value, path.Length == 0 ? p.Name : $"{path}.{p.Name}", into);
                break;
            case JsonValueKind.Array:
                int i = 0;
                foreach (var item in e.EnumerateArray()) Collect(item, $"{path}[{i++}]", into);
                break;
        }
    }
}
