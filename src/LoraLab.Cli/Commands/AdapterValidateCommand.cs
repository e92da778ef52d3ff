using LoraLab.ModelFiles;
using System.ComponentModel;
using LoraLab.Adapters;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class AdapterValidateSettings : CommandSettings, LoraLab.Cli.Hub.IOfflineFlag
{
    [CommandOption(SharedFlags.Model)]
    [Description("The base model the adapter is meant for: a " + SharedFlags.FolderOrHubIdHelp + " (default: the base the adapter records).")]
    public string? Model { get; set; }

    [CommandOption(SharedFlags.Adapter)]
    [Description("PEFT LoRA adapter " + SharedFlags.FolderOrHubIdHelp + ".")]
    public string? Adapter { get; set; }

    [CommandOption(SharedFlags.Offline)]
    [Description(SharedFlags.OfflineHelp)]
    public bool Offline { get; set; }
}

/// `loralab adapter validate`: does this adapter fit this base? Matched modules and their shapes, agreement with the
/// base fingerprint recorded at training time, and whether the adapter changes the output at all. Exit code 0 when
/// everything agrees, 1 when the base differs or the adapter has no effect, 2 when it cannot be loaded onto the base.
public sealed class AdapterValidateCommand : Command<AdapterValidateSettings>
{
    public override int Execute(CommandContext context, AdapterValidateSettings s, CancellationToken cancellation)
    {
        var (modelDir, adapterDir) = ModelInputs.BaseAndAdapter(s.Model, s.Adapter);
        using var loaded = ModelLoader.Load(modelDir, new LoadOptions { LoadTokenizer = false });
        var cfg = PeftFormat.Load(adapterDir, loaded.Model);   // any module or shape mismatch stops here (exit 2)
        var adapters = LoraInjector.Adapters(loaded.Model);

        var modules = new Table().Title("matched modules").AddColumns("module", "layers", "A (r, in)", "B (out, r)", "scaling");
        foreach (var g in adapters.GroupBy(a => (Module: a.Path.Split('.')[^1], A: Shape(a.lora_A.weight!), B: Shape(a.lora_B.weight!), a.Scaling)))
            modules.AddRow(g.Key.Module, $"{g.Count()}", Markup.Escape(g.Key.A), Markup.Escape(g.Key.B), $"{g.Key.Scaling:G4}");
        AnsiConsole.Write(modules);
        AnsiConsole.MarkupLine($"{adapters.Count} modules matched; every tensor of {Markup.Escape(PeftFormat.WeightsFile)} has the shape its base module needs");

        var provenance = AdapterProvenance.Read(adapterDir);
        var comparison = AdapterLoading.CompareBase(provenance, modelDir);
        var base_ = new Table().Title("base model").AddColumns("check", "result");
        if (comparison is null)
            base_.AddRow("fingerprint", $"[grey]not recorded (no {AdapterProvenance.FileName}; not trained by loralab)[/]");
        else
        {
            base_.AddRow("architecture", comparison.ArchitectureMatches ? "[green]match[/]" : $"[red]differs[/]: {Markup.Escape(string.Join(", ", comparison.ArchitectureDifferences))}");
            base_.AddRow("tensor names and shapes", comparison.ShapesMatch ? "[green]match[/]" : "[red]differ[/]");
            base_.AddRow("sampled weights", comparison.WeightsMatch ? "[green]match[/]" : "[red]differ[/] (another checkpoint, or a fine-tune of it)");
        }
        if (provenance is not null)
            base_.AddRow("trained with", Markup.Escape($"template '{provenance.Template}', BOS {(provenance.AddBos ? "added" : "not added")}, stop ids [{string.Join(", ", provenance.StopIds)}]" +
                                                       (provenance.BaseQuantization is { } q ? $", {q} base" : "")));
        double change = AdapterEffect.MaxLogitChange(loaded.Model);
        base_.AddRow("effect on logits", change > 0 ? $"[green]max |Δ| {change:E3}[/]" : "[red]none: the output equals the base's (lora_B all zero?)[/]");
        AnsiConsole.Write(base_);

        bool ok = comparison is null or { Matches: true } && change > 0;
        AnsiConsole.MarkupLine(!ok ? "[red]problems found[/]" : comparison is null ? "[green]the adapter fits this base[/] (by shapes; no fingerprint to confirm it is the training base)" : "[green]the adapter fits this base[/]");
        return ok ? 0 : 1;
    }

    static string Shape(TorchSharp.torch.Tensor t) => $"[{string.Join(", ", t.shape)}]";
}
