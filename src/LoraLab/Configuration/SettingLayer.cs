namespace LoraLab.Configuration;

/// Settings given in one place (a YAML file, the flags, a sweep's overrides), each with where it came from.
/// A RunConfig is its defaults with layers applied in order, later ones winning.
public sealed class SettingLayer
{
    readonly List<(IRunSetting Setting, object? Value, string Origin)> _given = new();

    public IEnumerable<IRunSetting> Settings => _given.Select(g => g.Setting);

    public SettingLayer Add(IRunSetting setting, object? value, string origin)
    {
        _given.RemoveAll(g => g.Setting == setting);
        _given.Add((setting, value, origin));
        return this;
    }

    /// `text` as the setting reads it; a bad value is refused naming `origin`.
    public SettingLayer Parse(IRunSetting setting, string text, string origin) => Add(setting, setting.Parse(text, origin), origin);

    /// A flag's value when it was given (null: not given), named by the flag.
    public SettingLayer Flag(IRunSetting setting, object? value) =>
        value is null ? this : Add(setting, setting.FromFlag(value, setting.Flag), setting.Flag);

    public bool Has(IRunSetting setting) => _given.Any(g => g.Setting == setting);

    public object? ValueOf(IRunSetting setting) => _given.LastOrDefault(g => g.Setting == setting).Value;

    /// Both layers' settings, `top` winning.
    public SettingLayer Then(SettingLayer top)
    {
        var r = new SettingLayer();
        foreach (var g in _given.Concat(top._given)) r.Add(g.Setting, g.Value, g.Origin);
        return r;
    }

    public void ApplyTo(RunConfig c)
    {
        foreach (var (s, v, origin) in _given)
        {
            s.Set(c, v);
            c.Origins[s.Key] = origin;
        }
    }
}
