namespace LoraLab.Configuration;

/// The spellings of an enum setting's values, in the order help lists them: the one place a value's name is written.
public sealed class Choices<T>(params (T Value, string Name)[] items) where T : struct, Enum
{
    public IReadOnlyList<(T Value, string Name)> Items => items;

    public string NameOf(T value) => items.First(i => EqualityComparer<T>.Default.Equals(i.Value, value)).Name;

    public bool TryParse(string text, out T value)
    {
        foreach (var (v, name) in items)
            if (string.Equals(name, text.Trim(), StringComparison.OrdinalIgnoreCase)) { value = v; return true; }
        value = default;
        return false;
    }

    /// "a, b or c".
    public string Describe() => items.Length == 1 ? items[0].Name
        : string.Join(", ", items[..^1].Select(i => i.Name)) + " or " + items[^1].Name;
}
