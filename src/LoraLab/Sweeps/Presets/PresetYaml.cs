using System.Globalization;
using LoraLab.Configuration;

namespace LoraLab.Sweeps.Presets;

/// The pieces of a preset's sweep file: a section of settings and one line per run, each setting by its YAML key.
public static class PresetYaml
{
    public static string Section(string name, IEnumerable<(IRunSetting Setting, string Value)> settings) =>
        $"{name}:\n" + string.Concat(settings.Select(s => $"  {s.Setting.Key}: {s.Value}\n"));

    public static string Run(string name, IReadOnlyList<(IRunSetting Setting, string Value)> settings) =>
        $"  - {{name: {name}" + string.Concat(settings.Select(s => $", {s.Setting.Key}: {s.Value}")) + "}\n";

    public static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    public static string Quote(string path) => "'" + path.Replace("'", "''") + "'";
}
