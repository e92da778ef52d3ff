using System.ComponentModel;
using System.Globalization;
using LoraLab.Adapters.Combining;
using Spectre.Console;
using Spectre.Console.Cli;

namespace LoraLab.Cli.Commands;

public sealed class CombineSettings : CommandSettings, LoraLab.Cli.Hub.IOfflineFlag
{
    [CommandArgument(0, "<ADAPTERS>")]
    [Description("PEFT adapters trained on the same base, each a " + SharedFlags.FolderOrHubIdHelp + ".")]
    public string[] Adapters { get; set; } = [];

    [CommandOption("--weights <W>")]
    [Description("Comma-separated weight per adapter, e.g. --weights=1,-0.5 (negative subtracts an adapter: task arithmetic). Default: 1 each.")]
    public string? Weights { get; set; }

    [CommandOption(SharedFlags.Method)]
    [Description("cat: stack the ranks, ΔW = Σ wᵢ·ΔWᵢ exactly; linear: weighted sums of the A's and of the B's (same ranks; an approximation); svd: best rank --rank approximation of Σ wᵢ·ΔWᵢ. "
        + "As PEFT's add_weighted_adapter, each then cut to rank --rank by SVD: ties (ties_svd: keep the --density largest entries of each ΔWᵢ, elect each entry's sign, average the agreeing wᵢ·ΔWᵢ), "
        + "dare (dare_linear_svd: drop each entry with probability 1 − --density, rescale by 1/--density, Σ wᵢ·ΔWᵢ; --seed), dare-ties (dare_ties_svd: dare's drop, then ties's sign election and mean). "
        + "ties and dare form each module's dense ΔW: memory out × in per module and adapter.")]
    [DefaultValue("cat")]
    public string Method { get; set; } = "cat";

    [CommandOption(SharedFlags.Rank)]
    [Description("Rank of the result for --method svd, ties, dare and dare-ties (default: the largest input rank).")]
    public int? Rank { get; set; }

    [CommandOption("--density <D>")]
    [Description("ties, dare, dare-ties (required): the fraction of each ΔWᵢ's entries kept, 0 < D ≤ 1; ties keeps the largest by magnitude, dare a random set.")]
    public double? Density { get; set; }

    [CommandOption("--majority-sign <HOW>")]
    [Description("ties, dare-ties: elect each entry's sign by the sign of the sum of the ΔWᵢ (total) or the sign most ΔWᵢ have (frequency). Default: total.")]
    public string? MajoritySign { get; set; }

    [CommandOption(SharedFlags.Seed)]
    [Description("dare, dare-ties: seed of the random drop (default 0); the same seed gives the same adapter.")]
    public long? Seed { get; set; }

    [CommandOption("--out <DIR>")]
    [Description("Folder for the combined adapter; must not exist or be empty unless --overwrite.")]
    public string? Out { get; set; }

    [CommandOption(SharedFlags.Offline)]
    [Description(SharedFlags.OfflineHelp)]
    public bool Offline { get; set; }

    [CommandOption("--overwrite")]
    [Description("Replace a non-empty --out folder.")]
    public bool Overwrite { get; set; }
}

/// `loralab combine`: adapter arithmetic on PEFT adapters of one base, written as a PEFT adapter.
public sealed class CombineCommand : Command<CombineSettings>
{
    public override int Execute(CommandContext context, CombineSettings s, CancellationToken cancellation)
    {
        if (string.IsNullOrWhiteSpace(s.Out)) throw new UserException("--out is required (the folder to write the combined adapter to)");
        var report = AdapterCombiner.Combine(new CombineOptions
        {
            AdapterDirs = s.Adapters.Select(a => ModelInputs.Adapter(a) ?? a).ToArray(), Weights = ParseWeights(s.Weights, s.Adapters.Length),
            Method = CombineMethods.Parse(s.Method), Rank = s.Rank, Density = s.Density, Seed = s.Seed,
            MajoritySign = s.MajoritySign is null ? null : CombineMethods.ParseMajoritySign(s.MajoritySign),
            OutDir = s.Out, Overwrite = s.Overwrite,
        });
        foreach (var w in report.Warnings) Console.Error.WriteLine($"warning: {w}");
        string ranks = report.MinRank == report.MaxRank ? $"rank {report.MinRank}" : $"ranks {report.MinRank}–{report.MaxRank}";
        AnsiConsole.MarkupLine($"combined {s.Adapters.Length} adapter(s) by {report.Method.Name()} into [bold]{Markup.Escape(report.OutDir)}[/]: {report.Modules} modules, {ranks}");
        string error = report.MaxRelativeError is { } e ? e.ToString("E2", CultureInfo.InvariantCulture) : "n/a (the weighted sum is zero)";
        AnsiConsole.MarkupLine(report.Method switch
        {
            CombineMethod.Cat => "exact: each module's ΔW is Σ wᵢ·ΔWᵢ (ranks stacked)",
            CombineMethod.Linear => $"approximation: A and B are summed separately, so ΔW carries cross terms; largest relative error ‖ΔW − Σ wᵢ·ΔWᵢ‖/‖Σ wᵢ·ΔWᵢ‖ = {error} (cat is exact)",
            CombineMethod.Svd => $"rank-truncated: largest relative error ‖ΔW − Σ wᵢ·ΔWᵢ‖/‖Σ wᵢ·ΔWᵢ‖ = {error}",
            _ => $"merged entry by entry (density {s.Density?.ToString(CultureInfo.InvariantCulture)}), then rank-truncated: largest relative truncation error ‖ΔW − merged‖/‖merged‖ = {error}",
        });
        return 0;
    }

    static double[] ParseWeights(string? text, int count)
    {
        if (text is null) return Enumerable.Repeat(1.0, count).ToArray();
        return text.Split(',').Select(t => double.TryParse(t.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var w) ? w
            : throw new UserException($"--weights: '{t}' is not a number (expected e.g. --weights=1,-0.5)")).ToArray();
    }
}
