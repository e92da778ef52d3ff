using System.Globalization;
using LoraLab.Runtime;

namespace LoraLab.Configuration;

/// The kinds of run setting (path, text, whole number, number, switch, choice), each with how it reads and writes
/// its values; RunSettings declares every setting with one of these.
static class SettingKinds
{
    const string TextExpected = "a single value (text)";

    internal static RunSetting<string?> Path(string section, string flag, string help, Func<RunConfig, string?> get, Action<RunConfig, string?> set, bool learns = true) =>
        new(section, flag, null, help, TextExpected, get, set, t => (true, t), v => v!, v => v!, null, nullable: true, choice: false, learns, isPath: true);

    internal static RunSetting<string> Text(string section, string flag, string help, Func<RunConfig, string> get, Action<RunConfig, string> set, bool learns = true) =>
        new(section, flag, null, help, TextExpected, get, set, t => (t.Trim().Length > 0, t), v => v, v => v, null, nullable: false, choice: false, learns, isPath: false);

    internal static RunSetting<int> Whole(string section, string flag, string help, Func<RunConfig, int> get, Action<RunConfig, int> set,
        NumberRange? range, bool learns = true, string? key = null) =>
        new(section, flag, key, help, "a whole number", get, set, t => ParseWhole(t) is long v and >= int.MinValue and <= int.MaxValue ? (true, (int)v) : (false, 0),
            v => v.ToString(CultureInfo.InvariantCulture), v => v, range, nullable: false, choice: false, learns, isPath: false);

    internal static RunSetting<int?> OptionalWhole(string section, string flag, string help, Func<RunConfig, int?> get, Action<RunConfig, int?> set,
        NumberRange? range, bool learns = true) =>
        new(section, flag, null, help, "a whole number", get, set, t => ParseWhole(t) is long v and >= int.MinValue and <= int.MaxValue ? (true, (int)v) : (false, null),
            v => v!.Value.ToString(CultureInfo.InvariantCulture), v => v!.Value, range, nullable: true, choice: false, learns, isPath: false);

    internal static RunSetting<long> WholeLong(string section, string flag, string help, Func<RunConfig, long> get, Action<RunConfig, long> set, NumberRange? range) =>
        new(section, flag, null, help, "a whole number", get, set, t => ParseWhole(t) is long v ? (true, v) : (false, 0),
            v => v.ToString(CultureInfo.InvariantCulture), v => v, range, nullable: false, choice: false, changesLearning: true, isPath: false);

    internal static RunSetting<double> Number(string section, string flag, string help, Func<RunConfig, double> get, Action<RunConfig, double> set, NumberRange? range) =>
        new(section, flag, null, help, "a number", get, set, t => ParseDouble(t) is double v ? (true, v) : (false, 0),
            v => v.ToString("R", CultureInfo.InvariantCulture), v => v, range, nullable: false, choice: false, changesLearning: true, isPath: false);

    internal static RunSetting<double?> OptionalNumber(string section, string flag, string help, Func<RunConfig, double?> get, Action<RunConfig, double?> set, NumberRange? range) =>
        new(section, flag, null, help, "a number", get, set, t => ParseDouble(t) is double v ? (true, v) : (false, null),
            v => v!.Value.ToString("R", CultureInfo.InvariantCulture), v => v!.Value, range, nullable: true, choice: false, changesLearning: true, isPath: false);

    internal static RunSetting<bool> Switch(string section, string flag, string help, Func<RunConfig, bool> get, Action<RunConfig, bool> set, bool learns = true) =>
        new(section, flag, null, help, "true or false", get, set, t => t.Trim().ToLowerInvariant() switch
            {
                // YAML 1.1's spellings too, as YamlDotNet read them before
                "true" or "yes" or "on" or "y" => (true, true),
                "false" or "no" or "off" or "n" => (true, false),
                _ => (false, false),
            },
            v => v ? "true" : "false", v => v, null, nullable: false, choice: false, changesLearning: learns, isPath: false);

    internal static RunSetting<T> Choice<T>(string section, string flag, string help, Choices<T> choices, Func<RunConfig, T> get, Action<RunConfig, T> set,
        bool learns = true)
        where T : struct, Enum =>
        new(section, flag, null, help, choices.Describe(), get, set, t => (choices.TryParse(t, out var v), v),
            choices.NameOf, v => choices.NameOf(v), null, nullable: false, choice: true, changesLearning: learns, isPath: false);

    internal static RunSetting<T?> OptionalChoice<T>(string section, string flag, string help, Choices<T> choices, Func<RunConfig, T?> get, Action<RunConfig, T?> set)
        where T : struct, Enum =>
        new(section, flag, null, help, choices.Describe(), get, set, t => choices.TryParse(t, out var v) ? (true, v) : (false, null),
            v => choices.NameOf(v!.Value), v => choices.NameOf(v!.Value), null, nullable: true, choice: true, changesLearning: true, isPath: false);

    /// A mapping of module-path regexes to ranks: a YAML mapping (`rank_pattern: {'layers\.0\.q_proj': 2}`), or as
    /// text `KEY=R,KEY=R` (flags, --set).
    internal static RunSetting<IReadOnlyDictionary<string, int>?> RankMap(string section, string flag, string help,
        Func<RunConfig, IReadOnlyDictionary<string, int>?> get, Action<RunConfig, IReadOnlyDictionary<string, int>?> set) =>
        PatternMap(section, flag, help, "whole numbers (KEY=R,KEY=R)", get, set,
            t => ParseWhole(t) is long v and >= int.MinValue and <= int.MaxValue ? (int)v : null, new NumberRange(1, Whole: true));

    /// A mapping of module-path regexes to numbers (alpha_pattern), written like <see cref="RankMap"/>.
    internal static RunSetting<IReadOnlyDictionary<string, double>?> NumberMap(string section, string flag, string help,
        Func<RunConfig, IReadOnlyDictionary<string, double>?> get, Action<RunConfig, IReadOnlyDictionary<string, double>?> set, NumberRange range) =>
        PatternMap(section, flag, help, "numbers (KEY=A,KEY=A)", get, set, ParseDouble, range);

    static RunSetting<IReadOnlyDictionary<string, TV>?> PatternMap<TV>(string section, string flag, string help, string values,
        Func<RunConfig, IReadOnlyDictionary<string, TV>?> get, Action<RunConfig, IReadOnlyDictionary<string, TV>?> set,
        Func<string, TV?> parseValue, NumberRange range) where TV : struct, IFormattable =>
        new(section, flag, null, help, "a mapping of module regexes to " + values, get, set, t => ParseMap(t, parseValue) is { } m ? (true, m) : (false, null),
            m => string.Join(",", m!.Select(kv => $"{kv.Key}={kv.Value.ToString(null, CultureInfo.InvariantCulture)}")),
            m => m!.ToDictionary(kv => kv.Key, kv => kv.Value), range, nullable: true, choice: false, changesLearning: true, isPath: false);

    static IReadOnlyDictionary<string, TV>? ParseMap<TV>(string text, Func<string, TV?> parseValue) where TV : struct
    {
        var map = new Dictionary<string, TV>();
        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = pair.LastIndexOf('=');
            if (eq <= 0 || parseValue(pair[(eq + 1)..]) is not TV v) return null;
            map[pair[..eq].Trim()] = v;
        }
        return map.Count == 0 ? null : map;
    }

    /// A whole number as YAML writes it: digits with optional `_` separators, or 0x hex / 0o octal (YAML 1.1 and 1.2).
    static long? ParseWhole(string text)
    {
        var t = text.Trim().Replace("_", "");
        bool negative = t.StartsWith('-');
        var digits = t.TrimStart('-', '+');
        long? v = digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? long.TryParse(digits[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var h) ? h : null
            : digits.StartsWith("0o", StringComparison.OrdinalIgnoreCase) ? Octal(digits[2..])
            : long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var d) ? d : null;
        return v is null || digits.Length == 0 || text.Trim().Length == 0 ? null : negative ? -v : v;
    }

    static long? Octal(string digits)
    {
        if (digits.Length == 0 || digits.Length > 21 || digits.Any(c => c is < '0' or > '7')) return null;
        return digits.Aggregate(0L, (n, c) => n * 8 + (c - '0'));
    }

    /// A number as flags (NaN, Infinity) and YAML (.nan, .inf, -.inf) write it.
    static double? ParseDouble(string text) => text.Trim().ToLowerInvariant() switch
    {
        ".inf" or "+.inf" => double.PositiveInfinity,
        "-.inf" => double.NegativeInfinity,
        ".nan" => double.NaN,
        var t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null,
    };
}
