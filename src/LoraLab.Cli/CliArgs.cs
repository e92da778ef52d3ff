namespace LoraLab.Cli;

/// Flag spellings users bring from other tools that Spectre.Console.Cli cannot declare directly.
public static class CliArgs
{
    /// `--r 8` / `--r=8` (LitGPT/PEFT style) mean `--rank` (Spectre needs long names of two or more characters).
    public static string[] Normalize(string[] args) => args.Select(a =>
        a == "--r" ? "--rank" : a.StartsWith("--r=", StringComparison.Ordinal) ? "--rank=" + a[4..] : a).ToArray();

    /// The aliases Normalize accepts for a verb whose flags are `longNames`.
    public static IEnumerable<string> Aliases(IReadOnlyCollection<string> longNames) =>
        longNames.Contains("--rank") ? new[] { "--r" } : Array.Empty<string>();
}
