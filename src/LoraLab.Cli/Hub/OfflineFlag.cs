using LoraLab.Hub;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Hub;

/// The settings of a verb that takes a model or an adapter (a folder or a Hub id) and so has `--offline`.
public interface IOfflineFlag
{
    bool Offline { get; }
}

/// Applies `--offline` for the command about to run, in one place for every verb: ModelSource.ForceOffline is what
/// the Hub code reads (CliApp.Run clears it after each command, so an in-process caller's next one starts online).
public sealed class OfflineInterceptor : ICommandInterceptor
{
    public void Intercept(CommandContext context, CommandSettings settings) =>
        ModelSource.ForceOffline = settings is IOfflineFlag { Offline: true };
}
