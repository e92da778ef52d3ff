using System.Text;
using LoraLab.Configuration;

namespace LoraLab.Sweeps;

/// Run folder names: from the varied values when not given (`r16-lr0.0001`), safe on every file system, unique.
public static class RunNames
{
    const int MaxLength = 100;

    /// Why a given name cannot be a folder name (null: it can). Only letters, digits, '.', '_', '+' and '-'.
    public static string? Unsafe(string name) =>
        name is "." or ".." ? "is not a folder name"
        : name.Length > MaxLength ? $"is longer than {MaxLength} characters"
        : name.All(Allowed) ? null : "may hold only letters, digits, '.', '_', '+' and '-'";

    static bool Allowed(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '+' or '-';

    /// `r16`, `lr0.0001` for numbers; `method_qlora`, `targets_q_v` for words (the key kept so a value never stands alone).
    public static string Part(IRunSetting setting, string text)
    {
        bool number = double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _);
        var raw = number ? setting.Key + text : $"{setting.Key}_{text}";
        var sb = new StringBuilder();
        foreach (var c in raw) sb.Append(Allowed(c) ? c : '_');
        return sb.ToString();
    }

    public static string Derive(IEnumerable<(IRunSetting Setting, string Text)> varied)
    {
        var name = string.Join("-", varied.Select(v => Part(v.Setting, v.Text)));
        if (name == "") return "base";
        return name.Length <= MaxLength ? name : name[..MaxLength];
    }

    /// Names made unique in order: the second `r16` becomes `r16-2`; given names are never renamed (a repeated one is
    /// refused by the caller), a derived name that meets one is.
    public static List<string> MakeUnique(IReadOnlyList<(string Name, bool Given)> names)
    {
        // case-insensitive: `R16` and `r16` are one folder on macOS and Windows
        var used = new HashSet<string>(names.Where(n => n.Given).Select(n => n.Name), StringComparer.OrdinalIgnoreCase);
        var result = new List<string>();
        foreach (var (name, given) in names)
        {
            var unique = name;
            for (int k = 2; !given && used.Contains(unique); k++) unique = $"{name}-{k}";
            used.Add(unique);
            result.Add(unique);
        }
        return result;
    }
}
