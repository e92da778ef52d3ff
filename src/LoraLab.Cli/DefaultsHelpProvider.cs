using System.ComponentModel;
using LoraLab.Configuration;
using Spectre.Console.Cli;
using Spectre.Console.Cli.Help;
using Spectre.Console.Rendering;

namespace LoraLab.Cli;

/// Spectre's help, with the description and DEFAULT of every option that is a run setting and declares neither itself
/// (all of `train`'s, and those other verbs share with it) from RunSettings and RunConfig's initialisers, the one
/// declaration of each. Train flags carry no [DefaultValue]: they stay null when not given so that a YAML config can set them.
public sealed class DefaultsHelpProvider(ICommandAppSettings settings) : HelpProvider(settings)
{
    public override IEnumerable<IRenderable> GetOptions(ICommandModel model, ICommandInfo? command) =>
        base.GetOptions(model, command is null ? null : new WithDefaults(command));

    /// The run setting a `train` flag sets (its long name without dashes), or null for flags that are not settings.
    public static IRunSetting? SettingOf(string longName) =>
        RunSettings.All.FirstOrDefault(s => s.FlagTemplate.Split(' ')[0].Split('|').Any(n => n.TrimStart('-') == longName && n.StartsWith("--", StringComparison.Ordinal)));

    /// The default `train --help` shows for a flag: the value a new RunConfig holds (nothing for unset and off).
    public static string? TrainDefault(string longName) =>
        SettingOf(longName) is { } s && s.Get(new RunConfig()) is { } v and not false ? s.Format(v) : null;

    sealed class WithDefaults(ICommandInfo c) : ICommandInfo
    {
        public string Name => c.Name;
        public string? Description => c.Description;
        public bool IsBranch => c.IsBranch;
        public bool IsDefaultCommand => c.IsDefaultCommand;
        public bool IsHidden => c.IsHidden;
        public ICommandInfo? Parent => c.Parent;
        public IReadOnlyList<string[]> Examples => c.Examples;
        public IReadOnlyList<ICommandInfo> Commands => c.Commands;
        public ICommandInfo? DefaultCommand => c.DefaultCommand;
        public IReadOnlyList<ICommandParameter> Parameters =>
            c.Parameters.Select(p => p is ICommandOption { DefaultValue: null, Description: null } o && o.LongNames.FirstOrDefault() is { } name && SettingOf(name) is { } s
                ? new Option(o, s.Help, TrainDefault(name) is { } d ? new DefaultValueAttribute(d) : null) : p).ToList();
    }

    sealed class Option(ICommandOption o, string description, DefaultValueAttribute? defaultValue) : ICommandOption
    {
        public IReadOnlyList<string> LongNames => o.LongNames;
        public IReadOnlyList<string> ShortNames => o.ShortNames;
        public string? ValueName => o.ValueName;
        public bool ValueIsOptional => o.ValueIsOptional;
        public bool IsFlag => o.IsFlag;
        public bool IsRequired => o.IsRequired;
        public string? Description => description;
        public DefaultValueAttribute? DefaultValue => defaultValue;
        public bool IsHidden => o.IsHidden;
    }
}
