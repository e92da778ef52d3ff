using System.ComponentModel;
using System.Reflection;
using LoraLab.Cli.Commands;
using LoraLab.Training;
using Spectre.Console.Cli;
using Spectre.Console.Cli.Help;
using Spectre.Console.Rendering;

namespace LoraLab.Cli;

/// Spectre's help, with `train`'s DEFAULT column filled from RunConfig.Defaults(), the one declaration of the
/// defaults. Train flags carry no [DefaultValue]: they stay null when not given so that a YAML config can set them.
public sealed class DefaultsHelpProvider(ICommandAppSettings settings) : HelpProvider(settings)
{
    public override IEnumerable<IRenderable> GetOptions(ICommandModel model, ICommandInfo? command) =>
        base.GetOptions(model, command is { Name: "train", Parent: null } ? new WithDefaults(command) : command);

    /// The default `train --help` shows for a flag: RunConfig.Defaults()' value of the property it sets.
    public static object? TrainDefault(string longName)
    {
        var p = typeof(TrainSettings).GetProperties().FirstOrDefault(p => p.GetCustomAttribute<CommandOptionAttribute>()?.LongNames.Contains(longName) == true);
        return p is null ? null : typeof(RunConfig).GetProperty(p.Name)?.GetValue(RunConfig.Defaults());
    }

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
            c.Parameters.Select(p => p is ICommandOption { DefaultValue: null } o && o.LongNames.FirstOrDefault() is { } name
                && TrainDefault(name) is { } d ? new Option(o, new DefaultValueAttribute(d)) : p).ToList();
    }

    sealed class Option(ICommandOption o, DefaultValueAttribute defaultValue) : ICommandOption
    {
        public IReadOnlyList<string> LongNames => o.LongNames;
        public IReadOnlyList<string> ShortNames => o.ShortNames;
        public string? ValueName => o.ValueName;
        public bool ValueIsOptional => o.ValueIsOptional;
        public bool IsFlag => o.IsFlag;
        public bool IsRequired => o.IsRequired;
        public string? Description => o.Description;
        public DefaultValueAttribute? DefaultValue => defaultValue;
        public bool IsHidden => o.IsHidden;
    }
}
