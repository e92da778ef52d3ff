using LoraLab;
using LoraLab.Cli;
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
    return app.Run(CliArgs.Normalize(args));
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
catch (Exception e) when (Environment.GetEnvironmentVariable("LORALAB_DEBUG") != "1")
{
    // A bug, not the user's input: say so in one line; LORALAB_DEBUG=1 shows the stack trace.
    Console.Error.WriteLine($"internal error: {e.GetType().Name}: {e.Message} (set LORALAB_DEBUG=1 for the stack trace)");
    return 1;
}
