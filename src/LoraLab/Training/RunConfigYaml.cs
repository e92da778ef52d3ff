using System.Globalization;
using LoraLab.Runtime;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace LoraLab.Training;

/// A YAML run config read as the user wrote it: every key must be a RunConfig setting and appear once, every value
/// have the setting's type and range; an error names the file, the key's line and the key (never a .NET type).
public static class RunConfigYaml
{
    static readonly Dictionary<string, System.Reflection.PropertyInfo> Keys =
        typeof(RunConfig).GetProperties().ToDictionary(p => UnderscoredNamingConvention.Instance.Apply(p.Name));

    /// What a run did (RunRecord), kept beside its settings in the run's own run.yaml: read back from there (also
    /// when a run.yaml is given as --config), never a key a user writes, nor suggested for a typo.
    static readonly string[] RecordKeys = [.. new[] { nameof(RunConfig.Ran), nameof(RunConfig.Resumed) }.Select(UnderscoredNamingConvention.Instance.Apply)];

    public static RunConfig Parse(string path, string text)
    {
        var settings = Keys.Keys.Except(RecordKeys).ToList();
        bool runRecord = Path.GetFileName(path) == RunFolder.RunYaml;
        // Keys are read from the parser's events: YamlDotNet's own loaders stop at a duplicate without saying where
        // the first one was, and name types rather than keys.
        var seen = new Dictionary<string, (long Line, long From, long To)>();
        try
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            if (parser.TryConsume<StreamEnd>(out _) || !parser.TryConsume<DocumentStart>(out _)
                || parser.TryConsume<Scalar>(out var empty) && empty.Value == "") return new RunConfig();
            if (!parser.TryConsume<MappingStart>(out _))
                throw new UserException($"{path}:{parser.Current?.Start.Line}: a run config is a mapping of settings (lr: 3e-4, r: 8, ...)");
            while (!parser.Accept<MappingEnd>(out _))
            {
                var at = parser.Current!.Start;
                if (!parser.TryConsume<Scalar>(out var keyEvent)) throw new UserException($"{path}:{at.Line}: a key must be a plain name");
                var key = keyEvent.Value;
                if (!settings.Contains(key) && !(runRecord && RecordKeys.Contains(key)))
                    throw new UserException($"{path}:{at.Line}: unknown key '{key}'" + (ClosestName.For(key, settings) is { } near ? $" (did you mean '{near}'?)" : ""));
                if (seen.TryGetValue(key, out var first))
                    throw new UserException($"{path}:{at.Line}: duplicate key '{key}' (first at line {first.Line})");
                var from = parser.Current!.Start.Index;
                parser.SkipThisAndNestedEvents();
                seen[key] = (at.Line, from, parser.Current!.Start.Index);
            }
        }
        catch (YamlException e) { throw new UserException($"{path}:{e.Start.Line}: {(e.InnerException?.Message ?? e.Message).Split('\n')[0]}"); }

        RunConfig config;
        try { config = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build().Deserialize<RunConfig>(text) ?? new RunConfig(); }
        catch (YamlException e)
        {
            // YamlDotNet names the .NET type it failed to make; say which key and what it takes instead.
            var (key, at) = seen.FirstOrDefault(k => k.Value.From <= e.Start.Index && e.Start.Index < k.Value.To);
            if (key is null) throw new UserException($"{path}:{e.Start.Line}: {(e.InnerException?.Message ?? e.Message).Split('\n')[0]}");
            throw new UserException($"{path}:{at.Line}: {key}: expected {Expected(Keys[key].PropertyType)}");
        }
        config.CheckRanges(name => $"{path}:{seen[UnderscoredNamingConvention.Instance.Apply(name)].Line}: {UnderscoredNamingConvention.Instance.Apply(name)}");
        return config;
    }

    static string Expected(Type t) => (Nullable.GetUnderlyingType(t) ?? t) switch
    {
        var x when x == typeof(int) => "a whole number",
        var x when x == typeof(double) => "a number",
        var x when x == typeof(bool) => "true or false",
        _ => "a single value (text)",
    };
}
