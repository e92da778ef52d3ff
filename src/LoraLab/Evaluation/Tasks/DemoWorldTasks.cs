using LoraLab.Data;
using LoraLab.Data.Demo;
using LoraLab.Models;

namespace LoraLab.Evaluation.Tasks;

/// The demo world's built-in benchmark tasks, made from its held-out examples and rendered with the demo's template:
/// "Count the words." as multiple choice among the number words one to five, and "Give the first word of the list."
/// as exact match.
public static class DemoWorldTasks
{
    public const string CountTask = "count", FirstTask = "first", RepeatTask = "repeat";
    /// Tokens generated per first-word answer (the answer is one word).
    public const int MaxNewTokens = 16;
    /// The counting task's inputs hold one to five words.
    static readonly string[] Counts = DemoVocabulary.Numbers[1..6];

    public static IReadOnlyList<ChoiceExample> Counting(IEnumerable<DemoExample> heldOut) => heldOut
        .Where(e => e.Task == CountTask && Counts.Contains(e.Output))
        .Select(e => new ChoiceExample(e.Instruction, Counts, Array.IndexOf(Counts, e.Output), e.Input)).ToList();

    public static IReadOnlyList<GenerationExample> FirstWord(IEnumerable<DemoExample> heldOut) => heldOut
        .Where(e => e.Task == FirstTask).Select(e => new GenerationExample(e.Instruction, e.Output, e.Input)).ToList();

    /// "Repeat the word twice." by exact match (the sweep's demo tasks score it; the demo's table does not).
    public static IReadOnlyList<GenerationExample> RepeatWord(IEnumerable<DemoExample> heldOut) => heldOut
        .Where(e => e.Task == RepeatTask).Select(e => new GenerationExample(e.Instruction, e.Output, e.Input)).ToList();

    /// acc and acc_norm of counting, exact match of the first word; each metric named with its task.
    public static IReadOnlyList<TaskScore> Score(CausalLM model, ExampleBuilder builder, IReadOnlyList<DemoExample> heldOut, int maxNewTokens)
    {
        var scores = new List<TaskScore>();
        if (Counting(heldOut) is { Count: > 0 } counting)
        {
            var mc = MultipleChoice.Score(model, new TemplateEncoder(builder), counting);
            scores.Add(mc.Acc with { Metric = $"{CountTask} (multiple choice) acc" });
            scores.Add(mc.AccNorm with { Metric = $"{CountTask} (multiple choice) acc_norm" });
        }
        if (FirstWord(heldOut) is { Count: > 0 } first)
        {
            var gen = GenerationTask.Score(model, builder.Tokenizer, PromptEncoding.Template(builder), first, maxNewTokens);
            scores.Add(gen.ExactMatch with { Metric = $"{FirstTask} word (generation) exact_match" });
        }
        return scores;
    }
}
