namespace LoraLab.Cli;

/// Spellings users know from PEFT and the docs that Spectre.Console cannot declare: a long option needs two or
/// more letters, so `--r 8` (LoRA rank) is rewritten to `--rank 8` before parsing.
public static class CliAliases
{
    public static string[] Expand(string[] args) => args
        .Select(a => a == "--r" ? "--rank" : a.StartsWith("--r=", StringComparison.Ordinal) ? "--rank=" + a[4..] : a)
        .ToArray();
}
