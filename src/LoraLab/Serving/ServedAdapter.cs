using LoraLab.Data;

namespace LoraLab.Serving;

/// A model the engine answers for: the base (no bank id) or an adapter in the bank, with the builder that renders
/// its chats (null: it takes raw completions only). Touched by the engine thread alone, except the immutable fields.
sealed class ServedAdapter
{
    public required ServedModel Info { get; init; }
    /// The adapter's id in the <see cref="AdapterBank"/>; null for the base.
    public int? BankId { get; init; }
    public ExampleBuilder? Chat { get; init; }
    /// Sequences accepted for it and not yet ended: an unloaded adapter leaves the bank when the last one ends.
    public int InFlight { get; set; }
    public bool Unloaded { get; set; }
}
