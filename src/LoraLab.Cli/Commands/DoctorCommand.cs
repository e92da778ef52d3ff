using System.Diagnostics;
using LoraLab.Diagnostics;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

/// `loralab doctor`: the machine, the native stack, the Hugging Face Hub cache, and the self-checks of the training math.
public sealed class DoctorCommand : Command<DoctorCommand.Settings>
{
    public sealed class Settings : CommandSettings { }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var env = new Table().Title("environment").AddColumns("", "");
        foreach (var (name, value) in EnvironmentReport.Collect()) env.AddRow(name, Markup.Escape(value));
        AnsiConsole.Write(env);
        var hub = new Table().Title("Hugging Face Hub").AddColumns("", "");
        foreach (var (name, value) in LoraLab.Cli.Hub.HubDoctorRows.Collect(Environment.GetEnvironmentVariable)) hub.AddRow(name, Markup.Escape(value));
        AnsiConsole.Write(hub);

        var clock = Stopwatch.StartNew();
        var checks = new Table().Title("self-checks (tiny random model)").AddColumns("check", "result", "detail");
        bool ok = true;
        foreach (var c in SelfChecks.RunAll())
        {
            ok &= c.Passed;
            checks.AddRow(c.Name, c.Passed ? "[green]pass[/]" : "[red]FAIL[/]", Markup.Escape(c.Detail));
        }
        AnsiConsole.Write(checks);
        AnsiConsole.MarkupLine($"{(ok ? "[green]healthy[/]" : "[red]problems found[/]")} ({clock.Elapsed.TotalSeconds:F1} s)");
        return ok ? 0 : 1;
    }
}
