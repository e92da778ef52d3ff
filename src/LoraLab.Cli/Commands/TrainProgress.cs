using LoraLab.Training;
using Spectre.Console;

namespace LoraLab.Cli.Commands;

/// Shows a run: a live progress bar on a terminal, one plain line per logged step when output is redirected.
public static class TrainProgress
{
    public static TrainResult Run(Trainer trainer, string? resume, CancellationToken cancel)
    {
        bool live = AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;
        trainer.Evaluated += e => Line(live, (e.EpochEnd
            ? $"epoch {e.Epoch} end · step {e.Step} · train loss {(e.TrainLoss is double t ? t.ToString("F4") : "-")} · val loss {e.ValLoss:F4}"
            : $"eval · step {e.Step} · val loss {e.ValLoss:F4}") + (double.IsFinite(e.ValPerplexity) ? $" · val ppl {e.ValPerplexity:F2}" : "") + Rewards(e.Metrics));
        trainer.Message += m => Line(live, m);
        if (!live)
        {
            trainer.Step += r => Console.WriteLine(
                $"step {r.Step}/{r.TotalSteps} · epoch {r.Epoch} · loss {r.Loss:F4}{Rewards(r.Metrics)} · lr {r.Lr:G3} · {r.TokensPerSecond:F0} tok/s · {r.RssBytes / 1e6:F0} MB · eta {Eta(r)}");
            return trainer.Run(resume, cancel);
        }
        TrainResult? result = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("training", maxValue: trainer.TotalSteps);
                trainer.Step += r =>
                {
                    task.Value = r.Step;
                    task.Description = Markup.Escape($"step {r.Step}/{r.TotalSteps} loss {r.Loss:F4}{Rewards(r.Metrics)} lr {r.Lr:G3} {r.TokensPerSecond:F0} tok/s {r.RssBytes / 1e6:F0} MB");
                };
                result = trainer.Run(resume, cancel);
            });
        return result!;
    }

    /// A preference objective's rewards accuracy and margin, for the progress line (empty for next-token training).
    static string Rewards(IReadOnlyDictionary<string, double>? m) =>
        m is not null && m.TryGetValue("rewards_accuracy", out var acc) && m.TryGetValue("rewards_margin", out var margin)
            ? $" · rewards acc {acc:F2} margin {margin:F3}" : "";

    static void Line(bool live, string text)
    {
        if (live) AnsiConsole.MarkupLine(Markup.Escape(text));
        else Console.WriteLine(text);
    }

    static string Eta(StepReport r)
    {
        double perStep = r.Seconds / Math.Max(1, r.Step);
        var eta = TimeSpan.FromSeconds(perStep * (r.TotalSteps - r.Step));
        return eta.TotalHours >= 1 ? eta.ToString(@"h\:mm\:ss") : eta.ToString(@"m\:ss");
    }
}
