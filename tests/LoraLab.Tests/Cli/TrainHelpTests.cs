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
            var flag = s.FlagTemplate.Split(' ')[0].Split('|').Last();
            // the option column: "        --lr <LR>" or "    -r, --rank <R>" (wrapped descriptions are indented further)
            var line = lines.SingleOrDefault(l => System.Text.RegularExpressions.Regex.IsMatch(l, $@"^    (-\w,|   ) {flag}\b"));
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

/// Every verb's --help renders (descriptions are Spectre markup: a literal "[...]" must be written "[[...]]").
[Collection("cli")]
public class EveryHelpTests
{
    [Theory]
    [InlineData("train")][InlineData("eval")][InlineData("generate")][InlineData("chat")][InlineData("params")][InlineData("merge")]
    [InlineData("adapter", "validate")][InlineData("data", "preview")][InlineData("bench")][InlineData("estimate")][InlineData("doctor")]
    [InlineData("demo")][InlineData("pretrain")]
    public void HelpRendersWithExitZero(params string[] verb)
    {
        var (code, help, err) = CliRunner.Run(verb.Append("--help").ToArray());
        Assert.True(code == 0, err);
        Assert.Contains("OPTIONS:", help);
    }
}
