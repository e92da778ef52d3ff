using System.ComponentModel;
using LoraLab.Demo;
using LoraLab.Evaluation.Tasks;
using LoraLab.Runtime;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class DemoSettings : CommandSettings
{
    [CommandOption("--out <DIR>")]
    [Description("Where the run writes metrics, the trained weights and demo_report.json.")]
    [DefaultValue("runs/demo")]
    public string Out { get; set; } = "runs/demo";

    [CommandOption("--overwrite")]
    [Description("Replace --out when it already holds files.")]
    public bool Overwrite { get; set; }

    [CommandOption(SharedFlags.MaxSteps)]
    [Description("Fine-tuning steps (16 examples each).")]
    [DefaultValue(200)]
    public int MaxSteps { get; set; } = 200;

    [CommandOption(SharedFlags.Seed)]
    [DefaultValue(42)]
    public int Seed { get; set; } = 42;

    [CommandOption(SharedFlags.Lr)]
    [Description("Learning rate (default: the fine-tuning method's).")]
    public double? Lr { get; set; }

    [CommandOption(SharedFlags.Method)]
    [Description("lora (default: LoRA on all linear layers, alpha = 2r) or full (every weight; the baseline).")]
    [DefaultValue("lora")]
    public string Method { get; set; } = "lora";

    [CommandOption(SharedFlags.Rank)]
    [Description("LoRA rank r (`--r` works too).")]
    [DefaultValue(16)]
    public int Rank { get; set; } = 16;

    [CommandOption("--dpo")]
    [Description("After fine-tuning, run DPO from the fine-tuned adapter on the demo's preference pairs (prefs-train.jsonl) and show held-out rewards accuracy for base, SFT and DPO.")]
    public bool Dpo { get; set; }

    [CommandOption("--assets <DIR>")]
    [Description("Folder holding demo-base/ and demo-data/ (default: the one shipped beside loralab).")]
    public string? Assets { get; set; }

    [CommandOption(SharedFlags.Threads)]
    [Description(SharedFlags.ThreadsHelp)]
    public int? Threads { get; set; }

    [CommandOption(SharedFlags.Precision)]
    [Description("auto, fp32 or bf16. " + LoraLab.Configuration.RunSettings.AutoPrecisionHelp)]
    [DefaultValue("auto")]
    public string Precision { get; set; } = "auto";

    public override ValidationResult Validate()
    {
        NumberRange.AtLeast(1).Check("--max-steps", MaxSteps);
        LoraLab.Configuration.RunSettings.Lr.Check("--lr", Lr);
        LoraLab.Configuration.RunSettings.R.Check("--rank", Rank);
        return base.Validate();
    }
}

/// `loralab demo`: fine-tunes the bundled demo model on instruction tasks offline and shows before/after.
public sealed class DemoCommand : Command<DemoSettings>
{
    /// The fine-tuning method the demo uses.
    public static IAdapterTrainer TrainerFor(string method, int rank) => method switch
    {
        "lora" => new LoraDemoTrainer(rank, 2.0 * rank),
        "full" => new FullFineTuneTrainer(),
        _ => throw new UserException($"--method: unknown '{method}' (lora or full)"),
    };

    public override int Execute(CommandContext context, DemoSettings s, CancellationToken cancellation)
    {
        TorchRuntime.EnsureLoaded();
        TorchRuntime.SetThreads(s.Threads);
        var runner = new DemoRunner(new DemoOptions
        {
            OutDir = s.Out, Overwrite = s.Overwrite, Steps = s.MaxSteps, Seed = s.Seed, Lr = s.Lr, AssetsDir = s.Assets,
            Dpo = s.Dpo ? new DemoDpoOptions() : null,
            Precision = LoraLab.Configuration.RunChoices.Precision.TryParse(s.Precision, out var p) ? p
                : throw new UserException($"--precision: unknown precision '{s.Precision}' (use auto, fp32 or bf16)"),
        }, TrainerFor(s.Method, s.Rank));
        runner.Message += m => AnsiConsole.MarkupLineInterpolated($"[grey]•[/] {m}");
        runner.Step += r =>
        {
            if (r.Step % 10 == 0 || r.Step == r.TotalSteps)
                AnsiConsole.MarkupLineInterpolated($"  step {r.Step,4}/{r.TotalSteps}  loss {r.Loss:F4}  {r.TokensPerSecond:F0} tok/s  {r.Seconds:F0}s");
        };
        runner.Progress += (phase, done, total) =>
        {
            if (done == total || done % 50 == 0) AnsiConsole.MarkupLineInterpolated($"  [grey]{phase}: answered {done}/{total} held-out prompts[/]");
        };
        var report = runner.Run(cancellation);
        Render(report);
        return 0;
    }

    static void Render(DemoReport r)
    {
        if (r.Dpo is { } dpo) AnsiConsole.Write(DpoTable(r, dpo));
        else AnsiConsole.Write(HeldOutTable(r));
        Rest(r);
    }

    static Table HeldOutTable(DemoReport r)
    {
        var table = new Table().Title("held-out tasks (never seen in training)").AddColumns("", "base", "fine-tuned");
        table.AddRow("exact-match accuracy", Pct(r.Before.Accuracy), Pct(r.After.Accuracy));
        foreach (var task in r.Before.TaskAccuracy.Keys)
            table.AddRow($"  {task}", Pct(r.Before.TaskAccuracy[task]), Pct(r.After.TaskAccuracy.GetValueOrDefault(task)));
        table.AddRow("validation loss (answer tokens)", $"{r.Before.ValLoss:F3}", $"{r.After.ValLoss:F3}");
        table.AddRow("answers ending with EOS", Pct(r.Before.StopShare), Pct(r.After.StopShare));
        return table;
    }

    static void Rest(DemoReport r)
    {
        if (r.TasksBefore.Count > 0)
            AnsiConsole.Write(TaskTable.Build("built-in tasks (held-out examples, alpaca template)",
                [new("base", null, r.TasksBefore), new("fine-tuned", null, r.TasksAfter)], templateRow: false));

        var samples = new Table().Title("generations").AddColumns("instruction", "input", "expected", "base", "fine-tuned");
        foreach (var (b, a) in r.Shown)
            samples.AddRow(Markup.Escape(b.Instruction), Markup.Escape(b.Input), Markup.Escape(b.Expected), Answer(b), Answer(a));
        AnsiConsole.Write(samples);

        AnsiConsole.MarkupLineInterpolated($"method: {r.Training.Method}, {r.Training.Training.Steps} steps in {r.Training.Training.Seconds:F0}s, {r.Training.TrainableParameters:N0} of {r.Training.TotalParameters:N0} parameters trained");
        AnsiConsole.MarkupLineInterpolated($"trained weights: {r.Training.SavedDir}");
        if (r.Training.MergedDir is not null) AnsiConsole.MarkupLineInterpolated($"merged model: {r.Training.MergedDir}");
        AnsiConsole.MarkupLineInterpolated($"metrics: {Path.Combine(r.OutDir, LoraLab.Training.RunFolder.Metrics)}");
        if (r.Dpo is { } d)
        {
            AnsiConsole.MarkupLineInterpolated($"DPO: beta {d.Options.Beta:G}, lr {d.Options.Lr:G3}, {d.Training.Steps} steps on {d.TrainPairs} pairs in {d.Training.Seconds:F0}s, starting from and referenced to the SFT adapter");
            AnsiConsole.MarkupLineInterpolated($"DPO adapter: {d.AdapterDir}");
            AnsiConsole.MarkupLineInterpolated($"DPO metrics: {Path.Combine(d.RunDir, LoraLab.Training.RunFolder.Metrics)}");
        }
        AnsiConsole.MarkupLineInterpolated($"report: {r.ReportPath}");
        AnsiConsole.MarkupLineInterpolated($"total time: {r.Seconds:F0}s");
    }

    /// `demo --dpo`: the held-out measures and the held-out pairs' rewards (against the base) for base, SFT and SFT + DPO.
    static Table DpoTable(DemoReport r, DemoDpoReport d)
    {
        var table = new Table().Title("held-out tasks and preference pairs (never seen in training)").AddColumns("", "base", "SFT", "SFT + DPO");
        HeldOutScore[] s = [r.Before, r.After, d.After];
        table.AddRow(["exact-match accuracy", .. s.Select(x => Pct(x.Accuracy))]);
        foreach (var task in r.Before.TaskAccuracy.Keys)
            table.AddRow([$"  {task}", .. s.Select(x => Pct(x.TaskAccuracy.GetValueOrDefault(task)))]);
        table.AddRow(["validation loss (answer tokens)", .. s.Select(x => $"{x.ValLoss:F3}")]);
        table.AddRow(["answers ending with EOS", .. s.Select(x => Pct(x.StopShare))]);
        IReadOnlyList<LoraLab.Evaluation.Tasks.TaskScore>[] p = [d.PrefsBase, d.PrefsSft, d.PrefsDpo];
        table.AddRow([$"rewards accuracy ({d.HeldOutPairs} pairs)", .. p.Select(x => Pct(x.First(t => t.Metric == PreferenceTask.RewardsAccuracy).Value))]);
        table.AddRow(["rewards margin", .. p.Select(x => $"{x.First(t => t.Metric == PreferenceTask.RewardsMargin).Value:F3}")]);
        table.AddRow([$"DPO loss (beta {d.Options.Beta:G})", .. p.Select(x => $"{x.First(t => t.Metric == PreferenceTask.Loss).Value:F3}")]);
        // what DPO itself optimised: rewards against its reference, the SFT adapter (the DPO run's last validation)
        var againstSft = d.Training.Evaluations.LastOrDefault()?.Metrics?.GetValueOrDefault("rewards_accuracy");
        table.AddRow(["rewards accuracy against SFT", "-", "-", againstSft is double a ? Pct(a) : "-"]);
        table.Caption("rewards are beta × log-prob gain over the base (adapter off), so the base's are 0 and its accuracy 0%; " +
                      "the last row's are over the SFT adapter, DPO's reference");
        return table;
    }

    static string Pct(double x) => $"{x:P1}";

    static string Answer(GenerationSample s) =>
        (s.Correct ? "[green]" : "[red]") + Markup.Escape(s.Generated.Length == 0 ? "(empty)" : s.Generated) + (s.Stopped ? "" : " …") + "[/]";
}
