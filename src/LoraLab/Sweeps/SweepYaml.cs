using LoraLab.Configuration;
using LoraLab.IO;
using LoraLab.Runtime;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace LoraLab.Sweeps;

/// Reads a sweep file: `base:` (train settings, flat or grouped by section, as in `train --config`), `grid:` (setting
/// key or key path → list of values), `runs:` (a list of setting mappings, each optionally with `name:`) and `eval:`
/// (the tasks each run is scored on, SweepEvalYaml). Errors
/// name the file, the line and the key, as RunConfigYaml's do; it reads the settings the same way.
public static class SweepYaml
{
    public const string BaseKey = "base", GridKey = "grid", RunsKey = "runs", NameKey = "name", EvalKey = "eval";
    static readonly string[] TopKeys = [BaseKey, GridKey, RunsKey, EvalKey];

    public static SweepFile Load(string path)
    {
        if (!File.Exists(path)) throw new UserException($"{path}: sweep file not found");
        return Parse(path, BoundedFile.ReadText(path, FileLimit.RunConfig));
    }

    public static SweepFile Parse(string path, string text)
    {
        var baseLayer = new SettingLayer();
        var grid = new List<GridAxis>();
        var runs = new List<RunOverrides>();
        List<SweepTaskEntry>? eval = null;
        var seenTop = new Dictionary<string, long>();
        try
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            if (!parser.TryConsume<DocumentStart>(out _) || !parser.TryConsume<MappingStart>(out _))
                throw new UserException($"{path}:{parser.Current?.Start.Line ?? 1}: a sweep file is a mapping with {BaseKey}:, {GridKey}: and/or {RunsKey}:");
            while (!parser.Accept<MappingEnd>(out _))
            {
                var (key, line) = RunConfigYaml.Key(parser, path);
                if (!TopKeys.Contains(key))
                    throw new UserException($"{path}:{line}: unknown key '{key}'" + (ClosestName.For(key, TopKeys) is { } near ? $" (did you mean '{near}'?)" : $" (a sweep file has {string.Join(", ", TopKeys)})"));
                if (seenTop.TryGetValue(key, out var first)) throw new UserException($"{path}:{line}: duplicate key '{key}' (first at line {first})");
                seenTop[key] = line;
                switch (key)
                {
                    case BaseKey:
                        Expect<MappingStart>(parser, path, line, $"{BaseKey}: a mapping of train settings (r: 8, lr: 3e-4, ...)");
                        RunConfigYaml.ReadSettings(parser, path, baseLayer, new Dictionary<string, long>());
                        parser.Consume<MappingEnd>();
                        if (baseLayer.Has(RunSettings.Out)) throw new UserException($"{path}:{line}: {BaseKey}: out: each run's folder is set by the sweep (--out DIR/runs/<name>)");
                        break;
                    case GridKey: ReadGrid(parser, path, line, grid); break;
                    case EvalKey: eval = SweepEvalYaml.Read(parser, path, line); break;
                    default: ReadRuns(parser, path, line, runs); break;
                }
            }
        }
        catch (YamlException e) { throw new UserException($"{path}:{e.Start.Line}: {(e.InnerException?.Message ?? e.Message).Split('\n')[0]}"); }
        if (grid.Count == 0 && runs.Count == 0)
            throw new UserException($"{path}: no runs: give {GridKey}: (setting → list of values) and/or {RunsKey}: (a list of overrides)");
        return new SweepFile(path, baseLayer, grid, runs) { Eval = eval };
    }

    static void Expect<T>(IParser parser, string path, long line, string what) where T : ParsingEvent
    {
        if (!parser.TryConsume<T>(out _)) throw new UserException($"{path}:{line}: expected {what}");
    }

    static void ReadGrid(IParser parser, string path, long line, List<GridAxis> grid)
    {
        Expect<MappingStart>(parser, path, line, $"{GridKey}: a mapping of setting → list of values (r: [8, 16])");
        var seen = new Dictionary<string, long>();
        while (!parser.Accept<MappingEnd>(out _))
        {
            var (key, keyLine) = RunConfigYaml.Key(parser, path);
            IRunSetting setting;
            try { setting = RunSettings.Find(key); }
            catch (UserException e) { throw new UserException($"{path}:{keyLine}: {GridKey}: {e.Message}"); }
            if (setting == RunSettings.Out) throw new UserException($"{path}:{keyLine}: {GridKey}: {key}: each run's folder is set by the sweep (--out DIR/runs/<name>)");
            if (seen.TryGetValue(setting.Key, out var first)) throw new UserException($"{path}:{keyLine}: duplicate grid key '{key}' (first at line {first})");
            seen[setting.Key] = keyLine;
            Expect<SequenceStart>(parser, path, keyLine, $"{GridKey}: {key}: a list of values ([{setting.Expected}, ...])");
            var values = new List<GridValue>();
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                var at = parser.Current!.Start.Line;
                var one = new SettingLayer();
                RunConfigYaml.Value(parser, path, at, key, setting, one, new Dictionary<string, long>());
                var value = one.ValueOf(setting);
                values.Add(new GridValue(value, setting.Format(value) ?? "none", $"{path}:{at}: {GridKey}.{key}"));
            }
            if (values.Count == 0) throw new UserException($"{path}:{keyLine}: {GridKey}: {key}: the list of values is empty");
            grid.Add(new GridAxis(setting, values));
        }
        parser.Consume<MappingEnd>();
    }

    static void ReadRuns(IParser parser, string path, long line, List<RunOverrides> runs)
    {
        Expect<SequenceStart>(parser, path, line, $"{RunsKey}: a list of mappings of settings (- {{name: big, r: 64}})");
        while (!parser.TryConsume<SequenceEnd>(out _))
        {
            var at = parser.Current!.Start.Line;
            Expect<MappingStart>(parser, path, at, $"{RunsKey}: each run is a mapping of settings (name: big, r: 64)");
            string? name = null;
            var layer = new SettingLayer();
            RunConfigYaml.ReadSettings(parser, path, layer, new Dictionary<string, long>(), (key, keyLine) =>
            {
                if (key != NameKey) return false;
                if (!parser.TryConsume<Scalar>(out var v) || v.Value == "") throw new UserException($"{path}:{keyLine}: {NameKey}: expected a run name");
                if (RunNames.Unsafe(v.Value) is { } why) throw new UserException($"{path}:{keyLine}: {NameKey}: '{v.Value}' {why}");
                name = v.Value;
                return true;
            }, [NameKey]);
            parser.Consume<MappingEnd>();
            if (layer.Has(RunSettings.Out)) throw new UserException($"{path}:{at}: {RunsKey}: out: each run's folder is set by the sweep (--out DIR/runs/<name>)");
            runs.Add(new RunOverrides(name, layer, $"{path}:{at}"));
        }
    }
}
