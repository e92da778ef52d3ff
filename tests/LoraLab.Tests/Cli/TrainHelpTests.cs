using System.Globalization;
using System.Reflection;
using LoraLab.Cli.Commands;
using LoraLab.Training;
using Spectre.Console.Cli;
using Xunit;

namespace LoraLab.Tests.Cli;

/// `train --help` shows each flag's default like the other verbs, taken from RunConfig.Defaults() (the one
/// declaration), and no description repeats a default by hand.
[Collection("cli")]
public class TrainHelpTests
{
    [Fact]
    public void EveryTrainFlagWithADefaultShowsItAndNoDescriptionRepeatsIt()
    {
        var (code, help, err) = CliRunner.Run("train", "--help");
        Assert.True(code == 0, err);
        var lines = help.Split('\n');
        var defaults = RunConfig.Defaults();
        int checkedFlags = 0;
        foreach (var p in typeof(TrainSettings).GetProperties())
        {
            var option = p.GetCustomAttribute<CommandOptionAttribute>();
            var value = typeof(RunConfig).GetProperty(p.Name)?.GetValue(defaults);
            if (option is null || value is null or false) continue;
            var flag = "--" + option.LongNames[0];
            // the option column: "        --lr <LR>" or "    -r, --rank <R>" (wrapped descriptions are indented further)
            var line = lines.SingleOrDefault(l => System.Text.RegularExpressions.Regex.IsMatch(l, $@"^    (-\w,|   ) {flag} "));
            Assert.True(line is not null, $"no help line for {flag} in:\n{help}");
            Assert.Contains($" {Convert.ToString(value, CultureInfo.InvariantCulture)} ", line + " ");
            checkedFlags++;
        }
        Assert.True(checkedFlags >= 25, $"only {checkedFlags} flags with defaults found");
        foreach (var p in typeof(TrainSettings).GetProperties())
            if (p.GetCustomAttribute<System.ComponentModel.DescriptionAttribute>()?.Description is { } d && typeof(RunConfig).GetProperty(p.Name)?.GetValue(defaults) is not (null or false))
                Assert.DoesNotMatch(@"\(default[ :]|\w \(default\)", d);
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
