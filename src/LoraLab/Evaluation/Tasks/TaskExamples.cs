namespace LoraLab.Evaluation.Tasks;

/// A multiple-choice question: the context, the choices (continuations of it) and the index of the right one.
/// Input is an instruction's input, for templates with a section for it (the demo's Alpaca tasks); task files have none.
public sealed record ChoiceExample(string Context, IReadOnlyList<string> Choices, int Gold, string? Input = null);

/// A generation question: the prompt and the expected answer (Input as above).
public sealed record GenerationExample(string Prompt, string Answer, string? Input = null);
