using System.Reflection;
using System.Text.RegularExpressions;
using LoraLab.Runtime;
using Spectre.Console.Cli;

namespace LoraLab.Cli;

/// Spectre.Console.Cli's parse and conversion errors said again in the user's words: the flag as typed, the closest
/// flag the verb knows, and the kind of value a flag takes ("Failed to convert 'abc' to Nullable`1" names neither).
public static partial class FlagErrors
{
    [GeneratedRegex(@"^Unknown option '(?<name>.+)'\.$")] private static partial Regex UnknownOption();
    [GeneratedRegex(@"^Failed to convert '(?<value>.*)' to ")] private static partial Regex ConversionFailed();
    [GeneratedRegex(@"^Unknown command '(?<value>.*)'\.$")] private static partial Regex UnknownCommand();

    /// The message for `e`, or null when Spectre's own says it well enough. `args` are the arguments as typed.
    public static string? Reword(Exception e, string[] args)
    {
        var flags = FlagsOf(args);
        if (UnknownOption().Match(e.Message) is { Success: true } u)
        {
            var typed = args.Select(a => a.Split('=', 2)[0]).FirstOrDefault(a => a.TrimStart('-') == u.Groups["name"].Value && a.StartsWith('-'))
                        ?? "--" + u.Groups["name"].Value;
            var near = flags is null ? null : Suggest(typed, flags.Keys, FlagAliases.VerbOf(args));
            return $"unknown option {typed}" + (near is null ? "" : $" (did you mean {near}?)");
        }
        // A switch (--packing) takes true/false or nothing; Spectre reads another word after it as a command.
        if (UnknownCommand().Match(e.Message) is { Success: true } w && flags is not null)
        {
            int k = Array.IndexOf(args, w.Groups["value"].Value);
            if (k > 0 && flags.GetValueOrDefault(args[k - 1])?.PropertyType is { } t && (Nullable.GetUnderlyingType(t) ?? t) == typeof(bool))
                return $"{args[k - 1]}: '{args[k]}' is not true or false (a switch: give {args[k - 1]} alone to turn it on)";
            if (k > 0) return $"unexpected argument '{args[k]}' (every value follows its flag, as in --model DIR)";
        }
        if (e.Message.StartsWith("Flags cannot be assigned a value") && flags is not null
            && args.FirstOrDefault(a => a.Contains('=') && flags.ContainsKey(a.Split('=', 2)[0])) is { } assigned)
            return $"{assigned.Split('=', 2)[0]}: '{assigned.Split('=', 2)[1]}' is not true or false";
        if (ConversionFailed().Match(e.Message) is { Success: true } c)
        {
            var value = c.Groups["value"].Value;
            int i = Array.FindIndex(args, a => a.StartsWith('-') && a.EndsWith("=" + value));
            var flag = i >= 0 ? args[i][..args[i].IndexOf('=')] : args.Where((a, k) => a.StartsWith('-') && k + 1 < args.Length && args[k + 1] == value).FirstOrDefault();
            if (flag is null) return null;
            var type = flags?.GetValueOrDefault(flag)?.PropertyType;
            type = type is null ? null : Nullable.GetUnderlyingType(type) ?? type;
            var kind = type == typeof(int) || type == typeof(long) ? "a whole number" : type == typeof(double) || type == typeof(float) ? "a number"
                : type == typeof(bool) ? "true or false" : "a valid value";
            return $"{flag}: '{value}' is not {kind}";
        }
        return null;
    }

    /// The flag to suggest for an unknown `typed`, never an old spelling: an alias another verb keeps (`train --batch`
    /// is bench's `--batch`, now `--batch-size`) when this verb has its flag, else the closest of the verb's flags and
    /// aliases, an alias given as the flag it stands for.
    static string? Suggest(string typed, IEnumerable<string> flags, string verb)
    {
        var known = flags.Where(k => k.StartsWith("--")).ToHashSet();
        if (FlagAliases.All.FirstOrDefault(a => a.Old == typed && known.Contains(a.New)) is { } elsewhere) return elsewhere.New;
        var near = ClosestName.For(typed, known);
        return FlagAliases.Of(verb).FirstOrDefault(a => a.Old == near)?.New ?? near;
    }

    /// Every flag spelling of the verb that `args` start with (long, short and alias), to the property it sets.
    static Dictionary<string, PropertyInfo>? FlagsOf(string[] args)
    {
        var words = args.TakeWhile(a => !a.StartsWith('-')).Take(2).ToArray();
        Type? settings = null;
        for (int n = words.Length; n > 0 && settings is null; n--)
            settings = CommandRegistry.SettingsByVerb.GetValueOrDefault(string.Join(' ', words[..n]));
        if (settings is null) return null;
        var flags = new Dictionary<string, PropertyInfo>();
        foreach (var p in settings.GetProperties())
            if (p.GetCustomAttribute<CommandOptionAttribute>() is { } o)
            {
                foreach (var l in o.LongNames) flags["--" + l] = p;
                foreach (var s in o.ShortNames) flags["-" + s] = p;
            }
        foreach (var alias in FlagAliases.Of(FlagAliases.VerbOf(args)))
            if (flags.TryGetValue(alias.New, out var p)) flags[alias.Old] = p;
        return flags;
    }
}
