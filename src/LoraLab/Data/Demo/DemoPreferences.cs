using LoraLab.Data.Preferences;

namespace LoraLab.Data.Demo;

/// The demo's built-in preference pairs, made from its instruction examples: the prompt is the example's Alpaca
/// prompt exactly as the demo's supervised training renders it (a TextPreference prompt is used as written, and the
/// Alpaca response follows "### Response:" with no separator, so prompt and answer tokenize as in the SFT data), chosen
/// = the correct answer (the encoder appends EOS), rejected = a wrong answer (another example's answer to the same
/// task) or a run-on one (the correct answer followed by the input again: an answer that does not stop).
public static class DemoPreferences
{
    static readonly AlpacaTemplate Template = new();

    /// The pairs of the training and held-out examples; the same seed gives the same pairs. Each set draws its
    /// wrong answers from its own examples, so held-out pairs never mention a training answer they were not built from.
    public static (IReadOnlyList<TextPreference> Train, IReadOnlyList<TextPreference> HeldOut) Generate(
        IReadOnlyList<DemoExample> train, IReadOnlyList<DemoExample> heldOut, int seed)
    {
        var rng = new Random(seed);
        return (Pairs(train, rng, "train"), Pairs(heldOut, rng, "heldout"));
    }

    /// One pair per example (in order); `source` names the set in each record's origin.
    public static IReadOnlyList<TextPreference> Pairs(IReadOnlyList<DemoExample> examples, Random rng, string source)
    {
        var answers = examples.GroupBy(e => e.Task).ToDictionary(g => g.Key, g => g.Select(e => e.Output).Distinct().ToArray());
        return examples.Select((e, i) =>
        {
            var wrong = answers[e.Task].Where(a => a != e.Output).ToArray();
            // Half wrong, half run-on; a task whose examples all share one answer can only run on.
            var rejected = rng.Next(2) == 0 && wrong.Length > 0 ? wrong[rng.Next(wrong.Length)] : RunOn(e);
            return new TextPreference($"{source}:{i + 1}", source, i + 1, Prompt(e), e.Output, rejected);
        }).ToList();
    }

    /// The prompt the demo's supervised data has for this example (the Alpaca prompt up to "### Response:").
    public static string Prompt(DemoExample e) => Template.RenderPrompt(e.Instruction, e.Input);

    /// The correct answer that goes on instead of stopping: the input said again after it.
    public static string RunOn(DemoExample e) => $"{e.Output} {e.Input}";

    /// Writes both sets as JSON Lines in TRL's form (prompt, chosen, rejected) into `dir`.
    public static void Write(string dir, string trainFile, string heldOutFile, IReadOnlyList<TextPreference> train, IReadOnlyList<TextPreference> heldOut)
    {
        Directory.CreateDirectory(dir);
        PreferenceJsonl.Write(Path.Combine(dir, trainFile), train);
        PreferenceJsonl.Write(Path.Combine(dir, heldOutFile), heldOut);
    }
}
