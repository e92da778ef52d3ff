using LoraLab.Runtime;
using LoraLab.Training;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace LoraLab.Configuration;

/// A run config file as the user wrote it: a mapping of setting keys (flat, `r: 16`, or grouped by section,
/// `lora: {r: 16}`), each once, each value of the setting's kind. Errors name the file, the line and the key.
/// A run's own run.yaml also holds what the run did (`ran`, `resumed`), read back from there only.
public static class RunConfigYaml
{
    const string RanKey = "ran", ResumedKey = "resumed";

    public sealed record Read(SettingLayer Settings, RunPlan? Ran, List<ResumeRecord>? Resumed);

    public static Read Load(string path)
    {
        if (!File.Exists(path)) throw new UserException($"{path}: run config not found");
        return Parse(path, BoundedFile.ReadText(path, FileLimit.RunConfig));
    }

    public static Read Parse(string path, string text)
    {
        bool runRecord = Path.GetFileName(path) == RunFolder.RunYaml;
        var layer = new SettingLayer();
        var seen = new Dictionary<string, long>();
        bool hasRecord = false;
        try
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            if (parser.TryConsume<StreamEnd>(out _) || !parser.TryConsume<DocumentStart>(out _)
                || parser.TryConsume<Scalar>(out var empty) && empty.Value == "") return new Read(layer, null, null);
            if (!parser.TryConsume<MappingStart>(out _))
                throw new UserException($"{path}:{parser.Current?.Start.Line}: a run config is a mapping of settings (lr: 3e-4, r: 8, ...)");
            ReadSettings(parser, path, layer, seen, (key, _) =>
            {
                if (!runRecord || key is not (RanKey or ResumedKey)) return false;
                hasRecord = true;
                parser.SkipThisAndNestedEvents();
                return true;
            });
            parser.Consume<MappingEnd>();
        }
        catch (YamlException e) { throw new UserException($"{path}:{e.Start.Line}: {(e.InnerException?.Message ?? e.Message).Split('\n')[0]}"); }
        if (!hasRecord) return new Read(layer, null, null);
        var record = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).IgnoreUnmatchedProperties().Build()
            .Deserialize<RunRecordKeys>(text);
        return new Read(layer, record?.Ran, record?.Resumed);
    }

    /// The settings of the mapping the parser is in (after its MappingStart, up to its MappingEnd, which is left),
    /// flat or grouped by section, into `layer`. `other(key, line)` takes a key that is not a setting (it consumes
    /// the value and returns true), so a file around settings (a sweep's runs) can hold keys of its own.
    public static void ReadSettings(IParser parser, string path, SettingLayer layer, Dictionary<string, long> seen,
        Func<string, long, bool>? other = null, IEnumerable<string>? otherKeys = null)
    {
        while (!parser.Accept<MappingEnd>(out _))
        {
            var (key, line) = Key(parser, path);
            if (other is not null && other(key, line)) continue;
            if (RunSettings.Sections.Contains(key) && parser.TryConsume<MappingStart>(out _))
            {
                while (!parser.Accept<MappingEnd>(out _))
                {
                    var (inner, innerLine) = Key(parser, path);
                    var s = RunSettings.ByKey.GetValueOrDefault(inner) is { } x
                        ? x.Section == key ? x : throw new UserException($"{path}:{innerLine}: unknown key '{key}.{inner}' (did you mean '{x.Section}.{x.Key}'?)")
                        : throw Unknown(path, innerLine, $"{key}.{inner}", RunSettings.All.Where(x => x.Section == key).Select(x => $"{key}.{x.Key}"));
                    Value(parser, path, innerLine, $"{key}.{inner}", s, layer, seen);
                }
                parser.Consume<MappingEnd>();
                continue;
            }
            var setting = RunSettings.ByKey.GetValueOrDefault(key) ?? throw Unknown(path, line, key, RunSettings.ByKey.Keys.Concat(otherKeys ?? []));
            Value(parser, path, line, key, setting, layer, seen);
        }
    }

    internal static (string Key, long Line) Key(IParser parser, string path)
    {
        var at = parser.Current!.Start;
        if (!parser.TryConsume<Scalar>(out var key)) throw new UserException($"{path}:{at.Line}: a key must be a plain name");
        return (key.Value, at.Line);
    }

    internal static void Value(IParser parser, string path, long line, string written, IRunSetting s, SettingLayer layer, Dictionary<string, long> seen)
    {
        if (seen.TryGetValue(s.Key, out var first)) throw new UserException($"{path}:{line}: duplicate key '{written}' (first at line {first})");
        seen[s.Key] = line;
        var origin = $"{path}:{line}: {written}";
        if (s.IsMap && parser.TryConsume<MappingStart>(out _))
        {
            var pairs = new List<string>();
            while (!parser.Accept<MappingEnd>(out _))
            {
                if (!parser.TryConsume<Scalar>(out var k) || !parser.TryConsume<Scalar>(out var v))
                    throw new UserException($"{origin}: expected {s.Expected}");
                if (k.Value.Contains(',') || k.Value.Contains('=')) throw new UserException($"{origin}: key '{k.Value}' may not hold ',' or '='");
                pairs.Add($"{k.Value}={v.Value}");
            }
            parser.Consume<MappingEnd>();
            layer.Parse(s, string.Join(",", pairs), origin);
            return;
        }
        if (!parser.TryConsume<Scalar>(out var scalar))
        {
            parser.SkipThisAndNestedEvents();
            throw new UserException($"{origin}: expected {s.Expected}");
        }
        // `key:` with nothing after it is YAML's null: it unsets an optional setting and is refused for the others.
        if (scalar.Value == "" && scalar.Style == ScalarStyle.Plain)
        {
            if (!s.Optional) throw new UserException($"{origin}: expected {s.Expected}, got nothing");
            layer.Add(s, null, origin);
        }
        else layer.Parse(s, scalar.Value, origin);
    }

    internal static UserException Unknown(string path, long line, string key, IEnumerable<string> known) =>
        new($"{path}:{line}: unknown key '{key}'" + (ClosestName.For(key, known.ToList()) is { } near ? $" (did you mean '{near}'?)" : ""));

    /// run.yaml: every setting with a value, in RunSettings' order, then what the run did.
    public static string Write(RunConfig c, bool givenOnly = false)
    {
        var doc = new Dictionary<string, object?>();
        foreach (var s in RunSettings.All)
            if (RunSettings.AppliesTo(s, c.Method) && (!givenOnly || c.Origins.ContainsKey(s.Key)) && s.ToYaml(s.Get(c)) is { } v) doc[s.Key] = v;
        if (c.Ran is not null) doc[RanKey] = c.Ran;
        if (c.Resumed is not null) doc[ResumedKey] = c.Resumed;
        return new SerializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance)
            .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull).Build().Serialize(doc);
    }

    sealed class RunRecordKeys
    {
        public RunPlan? Ran { get; set; }
        public List<ResumeRecord>? Resumed { get; set; }
    }
}
