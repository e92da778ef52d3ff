using Spectre.Console.Cli;

namespace LoraLab.Cli;

/// The `loralab` entry point as a method, so tests can run commands in-process. User errors become one line
/// on stderr and exit code 2; bugs one line and exit code 1 (LORALAB_DEBUG=1 shows the stack trace).
public static class CliApp
{
    public static int Run(string[] args)
    {
        // Bound to the current Console.Out on every run (Spectre captures it once otherwise), so in-process runs
        // that redirect the console (tests, embedding) see their own output.
        Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Out = new Spectre.Console.AnsiConsoleOutput(Console.Out),
        });
        var downloads = new Hub.DownloadProgressBars(Console.Error); // stderr: stdout stays the command's output
        LoraLab.Hub.ModelSource.Progress = downloads;
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("loralab");
            config.Settings.Console = Spectre.Console.AnsiConsole.Console; // help too (Spectre caches the first console otherwise)
            config.PropagateExceptions();
            config.SetHelpProvider(new DefaultsHelpProvider(config.Settings));
            config.SetInterceptor(new Hub.OfflineInterceptor());
            config.UseStrictParsing(); // an unknown or misspelt flag is an error, not silently ignored
            CommandRegistry.Register(config);
        });
        try
        {
            CliArgs.RefuseAfterDoubleDash(args);
            return app.Run(FlagAliases.Rewrite(args, Console.Error));
        }
        catch (Exception e) when (Ended(downloads) && (e is UserException or CommandParseException or CommandRuntimeException))
        {
            Console.Error.WriteLine($"error: {(e is UserException ? null : FlagErrors.Reword(e, args)) ?? e.Message}");
            return 2;
        }
        catch (Exception e) when (LoraLab.IO.StorageErrors.From(e) is { } storage) // disk full, read-only, a file in the path
        {
            Console.Error.WriteLine($"error: {storage.Message}");
            return 2;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("LORALAB_DEBUG") != "1")
        {
            Console.Error.WriteLine($"internal error: {e.GetType().Name}: {e.Message} (set LORALAB_DEBUG=1 for the stack trace)");
            return 1;
        }
        finally
        {
            downloads.Close();
            LoraLab.Hub.ModelSource.ForceOffline = false;
        }
    }

    /// Ends a download bar left open by a failure before the error line is printed (a filter, so it runs first).
    static bool Ended(Hub.DownloadProgressBars downloads)
    {
        downloads.Close();
        return true;
    }
}
