using System.Globalization;

namespace LoraLab.Runtime;

/// The values a numeric setting accepts, and the one-line refusal that names the setting, the range and the value.
/// NaN and ±∞ are outside every range.
public sealed record NumberRange(double Min, double Max = double.PositiveInfinity, bool MinOpen = false, bool MaxOpen = false,
    bool Whole = false, string? Why = null)
{
    public static NumberRange AtLeast(int min) => new(min, Whole: true);
    public static NumberRange Positive => new(0, MinOpen: true);
    public static NumberRange NonNegative => new(0);
    /// [0, 1): shares and probabilities that must leave something (validation share, dropout, momentum).
    public static NumberRange Fraction => new(0, 1, MaxOpen: true);

    public bool Contains(double v) => double.IsFinite(v) && (MinOpen ? v > Min : v >= Min) && (MaxOpen ? v < Max : v <= Max);

    public string Describe() =>
        Whole ? (double.IsPositiveInfinity(Max) ? $"at least {Min}" : $"between {Min} and {Max}")
        : "a finite number " + (double.IsPositiveInfinity(Max) ? (MinOpen ? $"> {Min}" : $">= {Min}")
            : $"in {(MinOpen ? '(' : '[')}{Min}, {Max}{(MaxOpen ? ')' : ']')}");

    /// Throws a UserException "NAME must be RANGE, got VALUE" when `value` is given and outside.
    public void Check(string name, double? value)
    {
        if (value is double v && !Contains(v))
            throw new UserException($"{name} must be {Describe()}{(Why is null ? "" : $" ({Why})")}, got {v.ToString(CultureInfo.InvariantCulture)}");
    }
}
