using System.Reflection;
using System.Text.Json;
using LoraLab.Cli;
using LoraLab.Cli.Commands;
using LoraLab.Demo;
using Spectre.Console.Cli;
using Xunit;

namespace LoraLab.Tests.Cli;

/// One flag, one spelling, one meaning across verbs (issue 18): the shared flags are declared alike everywhere, the old
/// spellings (FlagAliases) still work with one deprecation line, --help shows only the new ones, and a flag error
/// suggests the new spelling.
[Collection("cli")]
public class FlagVocabularyTests
{
    /// The verbs' settings classes, as registered (CommandRegistry records them when an app is configured).
    static IReadOnlyDictionary<string, Type> Verbs
    {
        get
        {
            if (!CommandRegistry.SettingsByVerb.ContainsKey("train")) CliRunner.Run("--help");
            return CommandRegistry.SettingsByVerb;
        }
    }

    static IEnumerable<CommandOptionAttribute> Options(Type settings) =>
        settings.GetProperties().Select(p => p.GetCustomAttribute<CommandOptionAttribute>()).OfType<CommandOptionAttribute>();

    static bool Declares(Type settings, string flag) => Options(settings).Any(o => o.LongNames.Any(l => "--" + l == flag));

    static string Warning(string old, string now) => $"warning: {old} is deprecated; use {now}";

    public static TheoryData<string, string, string> Aliases()
    {
        var d = new TheoryData<string, string, string>();
        foreach (var a in FlagAliases.All) d.Add(a.Verb, a.Old, a.New);
        return d;
    }

    [Theory]
    [MemberData(nameof(Aliases))]
    public void EachAliasStandsForAFlagItsVerbDeclaresAndIsNotDeclaredItself(string verb, string old, string now)
    {
        Assert.True(Verbs.ContainsKey(verb), $"no verb '{verb}'");
        Assert.True(Declares(Verbs[verb], now), $"{verb} has no {now}");
        Assert.False(Declares(Verbs[verb], old), $"{verb} still declares {old}");
    }

    [Fact]
    public void NoVerbDeclaresAnOldSpellingAndOnlyTrainAndSweepHaveConfig()
    {
        foreach (var (verb, settings) in Verbs)
        {
            foreach (var old in new[] { "--batch", "--seq", "--steps", "--seq-len", "--dtype" })
                Assert.False(Declares(settings, old), $"{verb} declares {old}");
            Assert.True(Declares(settings, "--config") == (verb is "train" or "sweep"), $"{verb}: --config is train's run YAML (or sweep's file of them), nothing else");
        }
    }

    /// Every verb that has a shared flag declares it exactly as SharedFlags spells it (names and value name).
    [Fact]
    public void SharedFlagsAreDeclaredAlikeInEveryVerb()
    {
        var shared = typeof(SharedFlags).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.Name is not (nameof(SharedFlags.ArchNames)) && !f.Name.EndsWith("Help"))
            .Select(f => new CommandOptionAttribute((string)f.GetRawConstantValue()!)).ToList();
        Assert.Contains(shared, s => s.LongNames.Contains("threads"));
        int seen = 0;
        foreach (var (verb, settings) in Verbs)
            foreach (var o in Options(settings))
                if (shared.Where(s => s.LongNames.Intersect(o.LongNames).Any()).ToList() is { Count: > 0 } spellings)
                {
                    // serve's --adapter <NAME=DIR|ORG/NAME> is the one flag with two spellings there (a name in front of the folder)
                    Assert.True(spellings.Any(s => s.LongNames.SequenceEqual(o.LongNames) && s.ShortNames.SequenceEqual(o.ShortNames) && s.ValueName == o.ValueName),
                        $"{verb}: --{o.LongNames[0]} <{o.ValueName}> is not declared as SharedFlags spells it");
                    seen++;
                }
        Assert.True(seen >= 30, $"only {seen} shared flags found");
    }

    [Fact]
    public void TheArchHelpNamesEveryKnownArchitecture() =>
        Assert.Equal(LoraLab.Models.KnownConfigs.Names.Order(), SharedFlags.ArchNames.Split(", ").Order());

    /// The issue's check: bench, train and eval take the shared flags in one spelling (each gets past parsing to its
    /// own first complaint, or runs).
    [Fact]
    public void BenchTrainAndEvalAcceptTheSameSpellingOfTheSharedFlags()
    {
        string[] common = ["--threads", "1", "--device", "cpu", "--precision", "fp32"];
        string[] seed = ["--seed", "1"];

        var (code, _, err) = CliRunner.Run(["train", .. common, .. seed]);
        Assert.Equal(2, code);
        Assert.StartsWith("error: 3 settings are invalid: --model is required", err.Trim()); // the inputs, not the shared flags

        (code, _, err) = CliRunner.Run(["eval", .. common]);
        Assert.Equal((2, "error: --data is required (a JSONL file)"), (code, err.Trim()));

        (code, var stdout, err) = CliRunner.Run(["bench", .. common, .. seed, "--arch", "tiny", "--batch-size", "1", "--max-seq-length", "8",
            "--max-steps", "1", "--warmup", "0", "--json"]);
        Assert.True(code == 0, err);
        var r = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal((1, "fp32", "cpu", 1, 8, 1), (r.GetProperty("threads").GetInt32(), r.GetProperty("precision").GetString(),
            r.GetProperty("device").GetString(), r.GetProperty("batch").GetInt32(), r.GetProperty("seq").GetInt32(), r.GetProperty("steps").GetInt32()));
    }

    [Theory]
    [InlineData("train")][InlineData("eval")][InlineData("generate")][InlineData("chat")][InlineData("params")][InlineData("merge")]
    [InlineData("adapter", "validate")][InlineData("data", "preview")][InlineData("bench")][InlineData("estimate")][InlineData("doctor")]
    [InlineData("demo")][InlineData("pretrain")]
    public void HelpShowsTheNewSpellingsAndNoDeprecatedOne(params string[] verb)
    {
        var (code, help, err) = CliRunner.Run([.. verb, "--help"]);
        Assert.True(code == 0, err);
        var flags = help.Split('\n').Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^    (?:-\w, |    )(--[\w-]+)"))
            .Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        Assert.Contains("--help", flags);
        foreach (var a in FlagAliases.Of(string.Join(' ', verb)))
        {
            Assert.Contains(a.New, flags);
            if (a.Deprecated) Assert.DoesNotContain(a.Old, flags);
        }
        foreach (var old in new[] { "--batch", "--seq", "--steps", "--seq-len", "--dtype" })
            Assert.DoesNotContain(old, flags);
    }

    /// Same output under the old and the new spelling; the old one adds one deprecation line per alias on stderr.
    [Theory]
    [InlineData("params --arch tiny --targets all --json", "params --config tiny --targets all --json")]
    [InlineData("estimate --arch tiny --micro-batch-size 2 --max-seq-length 64 --json", "estimate --config tiny --batch 2 --seq 64 --json")]
    [InlineData("estimate --arch=tiny --micro-batch-size=2 --max-seq-length=64 --json", "estimate --config=tiny --batch=2 --seq=64 --json")]
    public void OldSpellingsGiveTheSameResultWithADeprecationLine(string now, string old)
    {
        var (code, expected, err) = CliRunner.Run(now.Split(' '));
        Assert.True(code == 0, err);
        Assert.Equal("", err);
        (code, var stdout, err) = CliRunner.Run(old.Split(' '));
        Assert.True(code == 0, err);
        Assert.Equal(expected, stdout);
        var verb = FlagAliases.VerbOf(old.Split(' '));
        var lines = old.Split(' ').Select(w => w.Split('=')[0]).Select(w => FlagAliases.Of(verb).FirstOrDefault(a => a.Old == w))
            .OfType<FlagAliases.Alias>().Select(FlagAliases.DeprecationLine);
        Assert.Equal(string.Join('\n', lines), err.Trim().ReplaceLineEndings("\n"));
    }

    /// bench under its old spellings runs the same benchmark (and bench's new --seed reaches it: another seed, other
    /// random weights and tokens, another loss). Each run measures the matmul peak too, so they are few.
    [Fact]
    public void BenchOldSpellingsRunTheSameBenchmark()
    {
        JsonElement Bench(params string[] flags)
        {
            var (code, stdout, err) = CliRunner.Run(["bench", .. flags, "--warmup", "0", "--threads", "1", "--json"]);
            Assert.True(code == 0, err);
            if (flags[0] == "--config")
                Assert.StartsWith(string.Join('\n', Warning("--config", "--arch"), Warning("--batch", "--batch-size"),
                    Warning("--seq", "--max-seq-length"), Warning("--steps", "--max-steps")), err.ReplaceLineEndings("\n"));
            return JsonDocument.Parse(stdout).RootElement;
        }
        var now = Bench("--arch", "tiny", "--batch-size", "2", "--max-seq-length", "8", "--max-steps", "1", "--seed", "1");
        var old = Bench("--config", "tiny", "--batch", "2", "--seq", "8", "--steps", "1", "--seed", "1");
        foreach (var key in new[] { "cfg", "batch", "seq", "steps", "params", "trainable", "loss" })
            Assert.Equal(now.GetProperty(key).ToString(), old.GetProperty(key).ToString());
        Assert.Equal(("2", "8"), (old.GetProperty("batch").ToString(), old.GetProperty("seq").ToString()));
        var reseeded = Bench("--arch", "tiny", "--batch-size", "2", "--max-seq-length", "8", "--max-steps", "1", "--seed", "2");
        Assert.NotEqual(now.GetProperty("loss").GetDouble(), reseeded.GetProperty("loss").GetDouble());
    }

    /// The aliases of the verbs that load or train a model reach the setting they stand for: its own check answers.
    [Theory]
    [InlineData("--max-steps must be at least 1, got 0", "demo", "--steps", "0")]
    [InlineData("--max-steps must be at least 1, got 0", "pretrain", "--out", "o", "--steps", "0")]
    [InlineData("--max-seq-length must be at least 2, got 1", "pretrain", "--out", "o", "--seq-len", "1")]
    [InlineData("--precision: unknown precision 'f8' (use auto, fp32, bf16 or fp16)", "generate", "--model", "m", "--prompt", "a", "--dtype", "f8")]
    [InlineData("--precision: unknown precision 'f8' (use auto, fp32, bf16 or fp16)", "chat", "--model", "m", "--dtype", "f8")]
    [InlineData("unknown dtype 'f8' (use fp32, bf16 or fp16)", "merge", "--model", "m", "--adapter", "a", "--out", "o", "--dtype", "f8")]
    public void OldSpellingsReachTheirSetting(string expected, params string[] args)
    {
        var (code, _, err) = CliRunner.Run(args);
        Assert.Equal(2, code);
        var alias = FlagAliases.Of(FlagAliases.VerbOf(args)).Single(a => args.Contains(a.Old));
        Assert.Equal($"{FlagAliases.DeprecationLine(alias)}\nerror: {expected}", err.Trim().ReplaceLineEndings("\n"));
        (code, _, err) = CliRunner.Run(args.Select(a => a == alias.Old ? alias.New : a).ToArray());
        Assert.Equal((2, "error: " + expected), (code, err.Trim()));
    }

    /// eval --dtype bf16 scores in bf16 exactly as --precision bf16 does (and not as fp32).
    [Fact]
    public void EvalDtypeIsPrecision()
    {
        var data = Path.Combine(TempDir.New(), "d.jsonl");
        File.WriteAllText(data, "{\"text\": \"The cat sat on the mat and looked at the door.\"}\n");
        var model = Path.Combine(DemoAssets.Locate(), DemoAssets.BaseFolder);
        string Loss(params string[] flags)
        {
            var (code, stdout, err) = CliRunner.Run(["eval", "--model", model, "--data", data, "--threads", "1", "--json", .. flags]);
            Assert.True(code == 0, err);
            return JsonDocument.Parse(stdout).RootElement.GetProperty("loss").ToString();
        }
        var bf16 = Loss("--precision", "bf16");
        Assert.Equal(bf16, Loss("--dtype", "bf16"));
        Assert.NotEqual(Loss("--precision", "fp32"), bf16);
    }

    [Theory]
    [InlineData("unknown option --batch (did you mean --batch-size?)", "train", "--batch", "4")]
    [InlineData("unknown option --steps (did you mean --max-steps?)", "train", "--steps", "4")]
    [InlineData("unknown option --seq (did you mean --max-seq-length?)", "train", "--seq", "64")]
    [InlineData("unknown option --dtype (did you mean --precision?)", "train", "--dtype", "bf16")]
    [InlineData("unknown option --bach (did you mean --batch-size?)", "bench", "--bach", "4")]
    [InlineData("unknown option --confg (did you mean --arch?)", "params", "--confg", "tiny")]
    [InlineData("unknown option --dtyp (did you mean --precision?)", "eval", "--dtyp", "bf16")]
    [InlineData("unknown option --batch (did you mean --batch-size?)", "pretrain", "--batch", "4")]
    public void FlagErrorsSuggestTheNewSpelling(string expected, params string[] args)
    {
        var (code, _, err) = CliRunner.Run(args);
        Assert.Equal((2, "error: " + expected), (code, err.Trim()));
    }

    [Fact]
    public void AConversionErrorOnAnAliasNamesItAsTyped()
    {
        var (code, _, err) = CliRunner.Run("estimate", "--config", "tiny", "--seq", "long");
        Assert.Equal(2, code);
        Assert.EndsWith("error: --seq: 'long' is not a whole number", err.Trim());
    }
}
