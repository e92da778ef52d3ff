using LoraLab.Configuration;
using Xunit;

namespace LoraLab.Tests.Cli;

/// `train --help` shows each setting's help from RunSettings and its default from RunConfig (the one declaration of
/// each), and no description repeats a default by hand.
[Collection("cli")]
public class TrainHelpTests
{
    [Fact]
    public void EveryTrainFlagWithADefaultShowsItAndNoDescriptionRepeatsIt()
    {
        var (code, help, err) = CliRunner.Run("train", "--help");
        Assert.True(code == 0, err);
        var lines = help.Split('\n');
        var defaults = new RunConfig();
        int checkedFlags = 0;
        foreach (var s in RunSettings.All)
        {
            var flag = s.FlagTemplate.Split(' ')[0].Split('|').First(n => n.StartsWith("--", StringComparison.Ordinal));
            // the option column: "        --lr <LR>" or "    -r, --rank <R>" (wrapped descriptions are indented further)
            var line = lines.SingleOrDefault(l => System.Text.RegularExpressions.Regex.IsMatch(l, $@"^    (-\w,|   ) {flag}(\s|$)"));
            Assert.True(line is not null, $"no help line for {flag} in:\n{help}");
            Assert.Contains(s.Help.Split(' ')[0], line);
            Assert.DoesNotMatch(@"\(default[ :]|\w \(default\)", s.Help);
            if (s.Get(defaults) is not ({ } value and not false)) continue;
            Assert.Contains($" {s.Format(value)} ", line + " ");
            checkedFlags++;
        }
        Assert.True(checkedFlags >= 25, $"only {checkedFlags} flags with defaults found");
    }
}

/// Every verb's --help renders with exit 0 (descriptions are Spectre markup: a literal "[...]" must be written "[[...]]").
/// The verbs come from CommandRegistry itself, so a verb added later is covered without touching this list.
[Collection("cli")]
public class EveryHelpTests
{
    public static TheoryData<string> Verbs() => new(VerbList());

    /// The registered verbs and the branches that hold some ("adapter", "data": a help page of their own too).
    static List<string> VerbList()
    {
        new Spectre.Console.Cli.CommandApp().Configure(LoraLab.Cli.CommandRegistry.Register);
        var verbs = LoraLab.Cli.CommandRegistry.SettingsByVerb.Keys.Order().ToList();
        return [.. verbs, .. verbs.Where(v => v.Contains(' ')).Select(v => v.Split(' ')[0]).Distinct()];
    }

    [Theory]
    [MemberData(nameof(Verbs))]
    public void HelpRendersWithExitZero(string verb)
    {
        var (code, help, err) = CliRunner.Run([.. verb.Split(' '), "--help"]);
        Assert.True(code == 0, err);
        Assert.Equal("", err);
        Assert.Contains(VerbList().Any(v => v.StartsWith(verb + " ")) ? "COMMANDS:" : "OPTIONS:", help);
    }

    [Fact]
    public void TheListHoldsEveryVerb()
    {
        var verbs = VerbList();
        foreach (var v in new[] { "train", "eval", "generate", "chat", "params", "merge", "adapter validate", "data preview", "bench", "estimate", "doctor", "demo", "pretrain", "adapter", "data" })
            Assert.Contains(v, verbs);
    }
}
