namespace LoraLab.Cli;

/// What Spectre.Console.Cli does not check in the arguments itself.
public static class CliArgs
{
    /// Spectre passes what follows `--` to the command as remaining arguments, which no verb reads: a flag there
    /// would be ignored silently (strict parsing does not cover them), so anything after `--` is an error.
    public static void RefuseAfterDoubleDash(string[] args)
    {
        var rest = args.Skip(FlagsEnd(args) + 1).ToArray();
        if (rest.Length > 0) throw new UserException($"unexpected arguments after --: {string.Join(' ', rest)}");
    }

    /// The index of the first `--` (args.Length when there is none): what follows it is not flags.
    public static int FlagsEnd(IReadOnlyList<string> args) => args.ToList().IndexOf("--") is var i and >= 0 ? i : args.Count;
}
