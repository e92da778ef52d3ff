namespace LoraLab.Cli;

/// Flag spellings users bring from other tools that Spectre.Console.Cli cannot declare directly.
public static class CliArgs
{
    /// `--r 8` / `--r=8` (LitGPT/PEFT style) mean `--rank` (Spectre needs long names of two or more characters).
    /// Only before `--`: what follows it is not flags.
    public static string[] Normalize(string[] args)
    {
        int end = FlagsEnd(args);
        return args.Select((a, i) => i >= end ? a
            : a == "--r" ? "--rank" : a.StartsWith("--r=", StringComparison.Ordinal) ? "--rank=" + a[4..] : a).ToArray();
    }

    /// Spectre passes what follows `--` to the command as remaining arguments, which no verb reads: a flag there
    /// would be ignored silently (strict parsing does not cover them), so anything after `--` is an error.
    public static void RefuseAfterDoubleDash(string[] args)
    {
        var rest = args.Skip(FlagsEnd(args) + 1).ToArray();
        if (rest.Length > 0) throw new UserException($"unexpected arguments after --: {string.Join(' ', rest)}");
    }

    /// The index of the first `--` (args.Length when there is none).
    static int FlagsEnd(string[] args) => Array.IndexOf(args, "--") is var i and >= 0 ? i : args.Length;

    /// The aliases Normalize accepts for a verb whose flags are `longNames`.
    public static IEnumerable<string> Aliases(IReadOnlyCollection<string> longNames) =>
        longNames.Contains("--rank") ? new[] { "--r" } : Array.Empty<string>();
}
