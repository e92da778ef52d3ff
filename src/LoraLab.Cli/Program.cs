using LoraLab;
using LoraLab.Cli;
using Spectre.Console;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("loralab");
    config.PropagateExceptions();
    CommandRegistry.Register(config);
});

try
{
    return app.Run(CliAliases.Expand(args));
}
catch (UserException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
catch (CommandParseException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
catch (CommandRuntimeException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
