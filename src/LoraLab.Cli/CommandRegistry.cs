using LoraLab.Cli.Commands;
using Spectre.Console.Cli;

namespace LoraLab.Cli;

/// Every verb of `loralab`, in the order `--help` lists them. One line per command.
public static class CommandRegistry
{
    public static void Register(IConfigurator config)
    {
        // commands are added here, one line each
    }
}
