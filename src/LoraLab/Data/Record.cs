namespace LoraLab.Data;

/// One training record as read from a dataset file, before any template or tokenizer is applied.
/// `Origin` says where it came from ("data.jsonl:12", "data.json: record [3]") so later errors can point at it.
public abstract record Record(string Origin);

/// Stanford Alpaca form: an instruction, an optional input giving context, and the response.
public sealed record AlpacaRecord(string Origin, string Instruction, string Input, string Output) : Record(Origin);

/// A conversation (`messages` chat form or ShareGPT `conversations`, normalised to the same roles).
public sealed record ChatRecord(string Origin, IReadOnlyList<ChatMessage> Messages) : Record(Origin);

/// Raw text trained on in full (continued pre-training, or data already rendered by the user).
public sealed record TextRecord(string Origin, string Text) : Record(Origin);

/// Token ids prepared elsewhere; `Labels` null means every token is a target.
public sealed record TokenizedRecord(string Origin, int[] InputIds, int[]? Labels) : Record(Origin);
