using System.Text.Json;
using System.Text.Json.Nodes;
using static LoraLab.Data.Demo.DemoVocabulary;

namespace LoraLab.Data.Demo;

/// One instruction example of the demo in Alpaca form, tagged with the task it belongs to.
public sealed record DemoExample(string Task, string Instruction, string Input, string Output);

/// A rule-based instruction task: every input has exactly one right output, found by the same rule.
public sealed record DemoTask(string Name, string Instruction, Func<Random, IReadOnlyList<string>, string> MakeInput, Func<string, string> Answer);

/// The demo's instruction tasks and their train / held-out split. Each task's rule is one the pretraining corpus
/// shows in plain sentences but never in instruction form, so the base model has the skill but not the format.
/// Held-out inputs are built around words that no training input of the same task contains, so a model
/// that scores on them has learnt the rule, not the examples.
public static class DemoTasks
{
    /// Chosen by trial: a LoRA on the demo base learns these in a couple of minutes and gets them right on unseen
    /// words. "Give the last word" and "reverse the words" were tried too and stay near 0%: the small base copies
    /// the word after a marker, but never learnt to pick a list's end.
    public static readonly IReadOnlyList<DemoTask> All =
    [
        new("repeat", "Repeat the word twice.", (rng, pool) => DemoCorpus.Pick(rng, pool), w => $"{w} {w}"),
        new("first", "Give the first word of the list.", (rng, pool) => Words(rng, pool, 2, 5), s => s.Split(' ')[0]),
        new("count", "Count the words.", (rng, pool) => Words(rng, pool, 1, 5), s => DemoVocabulary.Numbers[s.Split(' ').Length]),
    ];

    public static DemoTask? ByInstruction(string instruction) => All.FirstOrDefault(t => t.Instruction == instruction);

    /// Share of nouns whose appearance marks an input as held-out.
    public const double HeldOutWordShare = 0.2;

    /// Generates `trainPerTask` training and up to `heldOutPerTask` held-out examples of each task. The nouns are
    /// split once: training inputs use only the training nouns; every held-out input contains at least one
    /// held-out noun, and no held-out input string occurs among the training inputs of its task.
    public static (IReadOnlyList<DemoExample> Train, IReadOnlyList<DemoExample> HeldOut) Generate(
        int seed, int trainPerTask = 400, int heldOutPerTask = 50, IReadOnlyList<DemoTask>? tasks = null)
    {
        tasks ??= All;
        var rng = new Random(seed);
        var shuffled = Nouns.OrderBy(_ => rng.Next()).ToArray();
        int heldCount = (int)Math.Round(shuffled.Length * HeldOutWordShare);
        var heldWords = shuffled[..heldCount];
        var trainWords = shuffled[heldCount..];
        var heldSet = heldWords.ToHashSet();

        var train = new List<DemoExample>();
        var heldOut = new List<DemoExample>();
        foreach (var task in tasks)
        {
            var seen = new HashSet<string>();
            for (int i = 0; i < trainPerTask; i++)
            {
                var input = task.MakeInput(rng, trainWords);
                seen.Add(input);
                train.Add(new DemoExample(task.Name, task.Instruction, input, task.Answer(input)));
            }
            var held = new HashSet<string>();
            int attempts = 0;
            // A task with few possible inputs (one held-out word each) may run out of distinct ones: keep what exists.
            while (held.Count < heldOutPerTask && ++attempts <= heldOutPerTask * 200)
            {
                // Mix the pools, then force at least one held-out noun into the input.
                var input = task.MakeInput(rng, [.. trainWords, .. heldWords]);
                var words = input.Split(' ');
                if (!words.Any(heldSet.Contains)) words[rng.Next(words.Length)] = DemoCorpus.Pick(rng, heldWords);
                input = string.Join(" ", words);
                if (seen.Contains(input) || !held.Add(input)) continue;
                heldOut.Add(new DemoExample(task.Name, task.Instruction, input, task.Answer(input)));
            }
        }
        // Interleave tasks in training so every batch mixes them.
        var order = Enumerable.Range(0, train.Count).OrderBy(_ => rng.Next()).ToArray();
        return (order.Select(i => train[i]).ToList(), heldOut);
    }

    /// Writes examples as an Alpaca JSON array (`instruction`, `input`, `output`), which <see cref="DatasetReader"/> reads.
    public static void WriteAlpacaJson(string path, IEnumerable<DemoExample> examples)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        File.WriteAllText(path, AlpacaJson(examples));
    }

    /// The text WriteAlpacaJson writes.
    public static string AlpacaJson(IEnumerable<DemoExample> examples)
    {
        var array = new JsonArray();
        foreach (var e in examples)
            array.Add(new JsonObject { ["instruction"] = e.Instruction, ["input"] = e.Input, ["output"] = e.Output });
        return array.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// Alpaca records read back as demo examples (the task recovered from the instruction).
    public static IReadOnlyList<DemoExample> FromRecords(IEnumerable<Record> records) => records.Select(r => r switch
    {
        AlpacaRecord a => new DemoExample(ByInstruction(a.Instruction)?.Name ?? "other", a.Instruction, a.Input, a.Output),
        _ => throw new UserException($"{r.Origin}: the demo needs Alpaca records (instruction, input, output)"),
    }).ToList();

    static string Words(Random rng, IReadOnlyList<string> pool, int min, int max) =>
        string.Join(" ", Enumerable.Range(0, rng.Next(min, max + 1)).Select(_ => DemoCorpus.Pick(rng, pool)));
}
