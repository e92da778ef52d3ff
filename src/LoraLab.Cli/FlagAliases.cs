namespace LoraLab.Cli;

/// Every other spelling a flag still answers to, in one table: each verb's spelling from before the verbs shared one
/// vocabulary (bench's `--batch`, generate's `--dtype`, ...) and the flag it is now. CliApp rewrites them before
/// Spectre parses, so a scripted command works as it did; --help lists only declared flags, so it never shows them.
public static class FlagAliases
{
    /// `Old` typed in `Verb` means `New`; a deprecated one says so on stderr each time it is used.
    public sealed record Alias(string Verb, string Old, string New, bool Deprecated = true);

    public static readonly IReadOnlyList<Alias> All =
    [
        // An architecture name was --config, which train reads as a run YAML.
        new("bench", "--config", "--arch"), new("estimate", "--config", "--arch"), new("params", "--config", "--arch"),
        new("bench", "--batch", "--batch-size"), new("bench", "--seq", "--max-seq-length"), new("bench", "--steps", "--max-steps"),
        // estimate's batch is what one forward pass holds, train's --micro-batch-size.
        new("estimate", "--batch", "--micro-batch-size"), new("estimate", "--seq", "--max-seq-length"),
        new("demo", "--steps", "--max-steps"),
        new("pretrain", "--steps", "--max-steps"), new("pretrain", "--seq-len", "--max-seq-length"),
        // The compute dtype is --precision, as in train and bench.
        new("eval", "--dtype", "--precision"), new("generate", "--dtype", "--precision"), new("chat", "--dtype", "--precision"),
        // merge's --dtype is the dtype of the written weights: pretrain's --save-dtype.
        new("merge", "--dtype", "--save-dtype"),
        // LitGPT/PEFT's `--r` (Spectre needs long names of two letters or more): a spelling kept on purpose.
        .. new[] { "train", "bench", "estimate", "params", "demo" }.Select(v => new Alias(v, "--r", "--rank", Deprecated: false)),
    ];

    /// The verb `args` start with ("bench", "adapter validate"), as the table names it, or "" for none.
    public static string VerbOf(IReadOnlyList<string> args)
    {
        var words = args.TakeWhile(a => !a.StartsWith('-')).Take(2).ToArray();
        var two = string.Join(' ', words);
        return words.Length == 2 && All.Any(a => a.Verb == two) ? two : words.FirstOrDefault() ?? "";
    }

    /// The aliases of `verb`.
    public static IEnumerable<Alias> Of(string verb) => All.Where(a => a.Verb == verb);

    /// `args` with each alias (`--batch 4`, `--batch=4`) before any `--` replaced by its flag, and one line on
    /// `warnings` per deprecated one used.
    public static string[] Rewrite(string[] args, TextWriter warnings)
    {
        var aliases = Of(VerbOf(args)).ToDictionary(a => a.Old);
        int end = CliArgs.FlagsEnd(args);
        var result = args.ToArray();
        for (int i = 0; i < end; i++)
        {
            var name = args[i].Split('=', 2)[0];
            if (!aliases.TryGetValue(name, out var alias)) continue;
            result[i] = alias.New + args[i][name.Length..];
            if (alias.Deprecated) warnings.WriteLine(DeprecationLine(alias));
        }
        return result;
    }

    public static string DeprecationLine(Alias a) => $"warning: {a.Old} is deprecated; use {a.New}";
}
