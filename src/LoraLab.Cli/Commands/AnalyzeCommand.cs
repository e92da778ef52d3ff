using System.ComponentModel;
using System.Globalization;
using LoraLab.Adapters;
using LoraLab.Adapters.Analysis;
using LoraLab.IO;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class AnalyzeSettings : CommandSettings, LoraLab.Cli.Hub.IOfflineFlag
{
    [CommandArgument(0, "<ADAPTER>")]
    [Description("PEFT adapter " + SharedFlags.FolderOrHubIdHelp + "; or a model folder (a ReLoRA run's or a full fine-tune's model/), " +
                 "whose update ΔW = W − W_base against --base is analyzed module by module (a dense SVD each).")]
    public string Adapter { get; set; } = "";

    [CommandOption("--base " + LoraLab.Configuration.RunSettings.FolderOrHubIdPlaceholder)]
    [Description("The base model " + SharedFlags.FolderOrHubIdHelp + ": adds ‖ΔW‖/‖W‖ per module (required with a model folder).")]
    public string? Base { get; set; }

    [CommandOption("--out <DIR>")]
    [Description("Also write rank_pattern.yaml (each module's rank at 90% energy, r + rank_pattern as PEFT's LoraConfig has them, usable as `train --config`) and effective_rank.png (layer × module heat map) here.")]
    public string? Out { get; set; }

    [CommandOption(SharedFlags.Offline)]
    [Description(SharedFlags.OfflineHelp)]
    public bool Offline { get; set; }

    [CommandOption("--overwrite")]
    [Description("Write into a non-empty --out folder.")]
    public bool Overwrite { get; set; }
}

/// `loralab analyze`: where an adapter spends its rank, module by module; or, for a model folder and its base, the rank
/// of each module's accumulated update (a ReLoRA run's model/).
public sealed class AnalyzeCommand : Command<AnalyzeSettings>
{
    public const string RankPatternFile = "rank_pattern.yaml";

    public override int Execute(CommandContext context, AnalyzeSettings s, CancellationToken cancellation)
    {
        string adapterDir = ModelInputs.Adapter(s.Adapter) ?? s.Adapter;
        if (!File.Exists(Path.Combine(adapterDir, PeftFormat.ConfigFile)) && File.Exists(Path.Combine(adapterDir, "config.json")))
            return AnalyzeModel(s, adapterDir);
        string? baseDir = ModelInputs.Adapter(s.Base); // a model, resolved as an adapter is
        if (baseDir is not null && AdapterLoading.CompareBase(AdapterProvenance.Read(adapterDir), baseDir) is { Matches: false } c)
            Console.Error.WriteLine($"warning: {s.Adapter}: the adapter was trained on a different base than {s.Base} ({c.Describe()})");
        var modules = AdapterAnalyzer.Analyze(adapterDir, baseDir);
        using var held = s.Out is null ? null
            : OutputFolder.Claim(s.Out, s.Overwrite, [new("adapter", adapterDir), new("--base", baseDir ?? "")]);
        var inv = CultureInfo.InvariantCulture;
        var table = new Table().Title(Markup.Escape($"ΔW = s·B·A of {s.Adapter}: singular values and effective rank"))
            .AddColumns("layer", "module", "r", "σ₁ σ₂ σ₃", "r90", "r99", "‖ΔW‖_F");
        if (s.Base is not null) table.AddColumn("‖ΔW‖/‖W‖");
        foreach (var m in modules)
        {
            var sigma = string.Join(" ", m.SingularValues.Take(3).Select(v => v.ToString("G2", inv))) + (m.SingularValues.Count > 3 ? " …" : "");
            var row = new List<string> { m.Layer < 0 ? "-" : m.Layer.ToString(inv), m.Module, $"{m.R}", sigma, $"{m.Rank90}", $"{m.Rank99}", m.Norm.ToString("G4", inv) };
            if (m.RelativeToBase is { } rel) row.Add(rel.ToString("G3", inv));
            table.AddRow(row.Select(Markup.Escape).ToArray());
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(Markup.Escape($"r90, r99: the smallest number of singular values holding 90%, 99% of Σσ² (mean r90 {modules.Average(m => m.Rank90):0.##} of r {modules.Average(m => m.R):0.##})"));
        if (PeftFormat.ReadConfig(adapterDir).UseDora)
            AnsiConsole.MarkupLine(Markup.Escape("DoRA adapter (use_dora): these are its directional updates s·B·A; its magnitude vectors also rescale each row of W + s·B·A, which depends on the base (loralab merge writes the whole update)"));
        if (s.Out is not null)
        {
            File.WriteAllText(Path.Combine(s.Out, RankPatternFile), RankPatternYaml.Write(modules, s.Adapter));
            EffectiveRankHeatmap.Save(Path.Combine(s.Out, EffectiveRankHeatmap.FileName), modules, "rank at 90% of ΔW energy / r");
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(Path.Combine(s.Out, RankPatternFile))} and {Markup.Escape(Path.Combine(s.Out, EffectiveRankHeatmap.FileName))}");
        }
        return 0;
    }

    /// A model folder against its base: the spectrum of each changed projection's ΔW = W − W_base (a ReLoRA run's
    /// accumulated update has rank above r).
    static int AnalyzeModel(AnalyzeSettings s, string modelDir)
    {
        if (s.Base is null) throw new UserException($"{s.Adapter}: a model folder, not an adapter; give --base BASE to analyze its update W − W_base");
        if (s.Out is not null) throw new UserException($"--out writes an adapter's suggested ranks; {s.Adapter} is a model folder (analyze its update without --out)");
        var modules = WeightUpdateAnalyzer.Analyze(modelDir, ModelInputs.Adapter(s.Base)!);
        if (modules.Count == 0) { Console.WriteLine($"{s.Adapter}: no projection weight differs from {s.Base}"); return 0; }
        var inv = CultureInfo.InvariantCulture;
        var table = new Table().Title(Markup.Escape($"ΔW = W − W_base of {s.Adapter}: singular values and rank"))
            .AddColumns("layer", "module", "rank", "σ₁ σ₂ σ₃", "r90", "r99", "‖ΔW‖_F", "‖ΔW‖/‖W‖");
        foreach (var m in modules)
        {
            var sigma = string.Join(" ", m.SingularValues.Take(3).Select(v => v.ToString("G2", inv))) + (m.SingularValues.Count > 3 ? " …" : "");
            table.AddRow(new[] { m.Layer < 0 ? "-" : m.Layer.ToString(inv), m.Module, $"{m.R}", sigma, $"{m.Rank90}", $"{m.Rank99}",
                m.Norm.ToString("G4", inv), m.RelativeToBase!.Value.ToString("G3", inv) }.Select(Markup.Escape).ToArray());
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(Markup.Escape("rank: singular values of ΔW above the model file's rounding (ε·‖W‖_F); " +
            $"r90, r99: the smallest number of singular values holding 90%, 99% of Σσ² (mean rank {modules.Average(m => m.R):0.##}, mean r90 {modules.Average(m => m.Rank90):0.##})"));
        return 0;
    }
}
