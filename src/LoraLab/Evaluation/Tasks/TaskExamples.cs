namespace LoraLab.Evaluation.Tasks;

/// A multiple-choice question: the context, the choices (continuations of it) and the index of the right one.
public sealed record ChoiceExample(string Context, IReadOnlyList<string> Choices, int Gold);

/// A generation question: the prompt and the expected answer.
public sealed record GenerationExample(string Prompt, string Answer);
