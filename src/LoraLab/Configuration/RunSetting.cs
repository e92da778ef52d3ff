using System.Globalization;
using LoraLab.Runtime;

namespace LoraLab.Configuration;

/// One run setting: its YAML key (and key path `section.key`), its flag, help, accepted values, and how it is read
/// from and written to a RunConfig. Declared once in RunSettings; YAML, flags, key-path overrides, run.yaml,
/// help and resume checks all go through it.
public interface IRunSetting
{
    /// YAML key and key-path leaf: `micro_batch_size`.
    string Key { get; }
    /// Key-path group: `loop` (so `loop.micro_batch_size` names the same setting).
    string Section { get; }
    /// How messages name the flag: `--micro-batch-size`.
    string Flag { get; }
    /// Spectre's option template: `--micro-batch-size <N>`.
    string FlagTemplate { get; }
    string Help { get; }
    /// False for settings that do not change what is learned (output folder, threads, logging): a resume may change them.
    bool ChangesLearning { get; }
    /// Recorded as a full path in run.yaml.
    bool IsPath { get; }
    /// What the value must look like: "a whole number", "lora, qlora or full".
    string Expected { get; }
    /// May be unset (`null`): a setting without a default.
    bool Optional { get; }
    object? Get(RunConfig c);
    void Set(RunConfig c, object? value);
    /// The value `text` stands for; a UserException naming `origin` (a flag, or file:line: key) when it stands for none.
    object? Parse(string text, string origin);
    /// A value of the setting's own type from a typed flag (int, double, bool, string): a string is parsed, others converted.
    object? FromFlag(object value, string origin);
    /// The value as YAML and messages write it (null: unset).
    string? Format(object? value);
    /// The value as run.yaml serializes it (numbers stay numbers, enums become their names).
    object? ToYaml(object? value);
    /// Why `value` is out of range (the message after the name), or null when it is accepted.
    string? RangeError(object? value);
    /// A pattern map (rank_pattern, alpha_pattern): YAML may write it as a mapping (`{KEY: V}`).
    bool IsMap { get; }
}

public sealed class RunSetting<T> : IRunSetting
{
    readonly Func<RunConfig, T> _get;
    readonly Action<RunConfig, T> _set;
    readonly Func<string, (bool Ok, T Value)> _parse;
    readonly Func<T, string> _format;
    readonly Func<T, object> _toYaml;
    readonly NumberRange? _range;
    readonly bool _nullable, _choice;

    internal RunSetting(string section, string flagTemplate, string? key, string help, string expected, Func<RunConfig, T> get, Action<RunConfig, T> set,
        Func<string, (bool, T)> parse, Func<T, string> format, Func<T, object> toYaml, NumberRange? range, bool nullable, bool choice,
        bool changesLearning, bool isPath)
    {
        _choice = choice;
        Section = section; FlagTemplate = flagTemplate; Help = help; Expected = expected;
        var longName = flagTemplate.Split(' ')[0].Split('|').Last().TrimStart('-');
        Key = key ?? longName.Replace('-', '_');
        Flag = "--" + Key.Replace('_', '-');
        _get = get; _set = set; _parse = parse; _format = format; _toYaml = toYaml; _range = range; _nullable = nullable;
        ChangesLearning = changesLearning; IsPath = isPath;
    }

    public string Key { get; }
    public string Section { get; }
    public string Flag { get; }
    public string FlagTemplate { get; }
    public string Help { get; }
    public bool ChangesLearning { get; }
    public bool IsPath { get; }
    public string Expected { get; }
    public bool Optional => _nullable;

    public T Value(RunConfig c) => _get(c);
    public object? Get(RunConfig c) => _get(c);
    public void Set(RunConfig c, object? value) => _set(c, (T)value!);

    public object? Parse(string text, string origin)
    {
        if (_nullable && text.Trim() is "null" or "~") return null;
        var (ok, v) = _parse(text);
        if (!ok) throw new UserException(_choice ? $"{origin}: unknown value '{text}' ({Expected})" : $"{origin}: expected {Expected}, got '{text}'");
        return v;
    }

    public object? FromFlag(object value, string origin) => value switch
    {
        string s => Parse(s, origin),
        T t => t,
        IConvertible c => (T)Convert.ChangeType(c, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), CultureInfo.InvariantCulture),
        _ => throw new InvalidOperationException($"{Flag}: a {value.GetType().Name} is not a {typeof(T).Name}"),
    };

    public string? Format(object? value) => value is null ? null : _format((T)value);
    public object? ToYaml(object? value) => value is null ? null : _toYaml((T)value);

    /// Refuses a value outside the range, naming it `name` (for verbs that take the same setting outside a run config).
    public void Check(string name, object? value)
    {
        if (RangeError(value) is { } why) throw new UserException($"{name} {why}");
    }

    /// A pattern map (rank_pattern, alpha_pattern) is written in YAML as a mapping as well as `KEY=V,...` text.
    public bool IsMap => typeof(T) == typeof(IReadOnlyDictionary<string, int>) || typeof(T) == typeof(IReadOnlyDictionary<string, double>);

    // Each value of a pattern map is checked against the range.
    static IEnumerable<object>? MapValues(object value) => value switch
    {
        IReadOnlyDictionary<string, int> m => m.Values.Cast<object>(),
        IReadOnlyDictionary<string, double> m => m.Values.Cast<object>(),
        _ => null,
    };

    public string? RangeError(object? value) =>
        _range is null || value is null ? null
        : MapValues(value) is { } values ? values.Select(RangeError).FirstOrDefault(e => e is not null)
        : Convert.ToDouble(value, CultureInfo.InvariantCulture) is var v && _range.Contains(v) ? null
        : $"must be {_range.Describe()}{(_range.Why is null ? "" : $" ({_range.Why})")}, got {v.ToString(CultureInfo.InvariantCulture)}";
}
