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
        new(section, flag, key, help, "a whole number", get, set, t => (int.TryParse(t.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v), v),
            v => v.ToString(CultureInfo.InvariantCulture), v => v, range, nullable: false, choice: false, learns, isPath: false);

    internal static RunSetting<int?> OptionalWhole(string section, string flag, string help, Func<RunConfig, int?> get, Action<RunConfig, int?> set,
        NumberRange? range, bool learns = true) =>
        new(section, flag, null, help, "a whole number", get, set, t => int.TryParse(t.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? (true, v) : (false, null),
            v => v!.Value.ToString(CultureInfo.InvariantCulture), v => v!.Value, range, nullable: true, choice: false, learns, isPath: false);

    internal static RunSetting<long> WholeLong(string section, string flag, string help, Func<RunConfig, long> get, Action<RunConfig, long> set, NumberRange? range) =>
        new(section, flag, null, help, "a whole number", get, set, t => (long.TryParse(t.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v), v),
            v => v.ToString(CultureInfo.InvariantCulture), v => v, range, nullable: false, choice: false, changesLearning: true, isPath: false);

    internal static RunSetting<double> Number(string section, string flag, string help, Func<RunConfig, double> get, Action<RunConfig, double> set, NumberRange? range) =>
        new(section, flag, null, help, "a number", get, set, t => ParseDouble(t) is double v ? (true, v) : (false, 0),
            v => v.ToString("R", CultureInfo.InvariantCulture), v => v, range, nullable: false, choice: false, changesLearning: true, isPath: false);

    internal static RunSetting<double?> OptionalNumber(string section, string flag, string help, Func<RunConfig, double?> get, Action<RunConfig, double?> set, NumberRange? range) =>
        new(section, flag, null, help, "a number", get, set, t => ParseDouble(t) is double v ? (true, v) : (false, null),
            v => v!.Value.ToString("R", CultureInfo.InvariantCulture), v => v!.Value, range, nullable: true, choice: false, changesLearning: true, isPath: false);

    internal static RunSetting<bool> Switch(string section, string flag, string help, Func<RunConfig, bool> get, Action<RunConfig, bool> set) =>
        new(section, flag, null, help, "true or false", get, set, t => t.Trim().ToLowerInvariant() switch { "true" => (true, true), "false" => (true, false), _ => (false, false) },
            v => v ? "true" : "false", v => v, null, nullable: false, choice: false, changesLearning: true, isPath: false);

    internal static RunSetting<T> Choice<T>(string section, string flag, string help, Choices<T> choices, Func<RunConfig, T> get, Action<RunConfig, T> set)
        where T : struct, Enum =>
        new(section, flag, null, help, choices.Describe(), get, set, t => (choices.TryParse(t, out var v), v),
            choices.NameOf, v => choices.NameOf(v), null, nullable: false, choice: true, changesLearning: true, isPath: false);

    internal static RunSetting<T?> OptionalChoice<T>(string section, string flag, string help, Choices<T> choices, Func<RunConfig, T?> get, Action<RunConfig, T?> set)
        where T : struct, Enum =>
        new(section, flag, null, help, choices.Describe(), get, set, t => choices.TryParse(t, out var v) ? (true, v) : (false, null),
            v => choices.NameOf(v!.Value), v => choices.NameOf(v!.Value), null, nullable: true, choice: true, changesLearning: true, isPath: false);

    /// A number as flags (NaN, Infinity) and YAML (.nan, .inf, -.inf) write it.
    static double? ParseDouble(string text) => text.Trim().ToLowerInvariant() switch
    {
        ".inf" or "+.inf" => double.PositiveInfinity,
        "-.inf" => double.NegativeInfinity,
        ".nan" => double.NaN,
        var t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : null,
    };
}
