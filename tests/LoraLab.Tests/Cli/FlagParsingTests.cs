using Xunit;

namespace LoraLab.Tests.Cli;

/// Strict flags on every verb: a misspelt or foreign flag is an error that names it and the closest known
/// spelling, and a value that does not convert names the flag as typed.
[Collection("cli")]
public class FlagParsingTests
{
    static void ExpectError(string expected, params string[] args)
    {
        var (code, _, err) = CliRunner.Run(args);
        Assert.Equal(2, code);
        Assert.Equal("error: " + expected, err.Trim());
    }

    [Theory]
    [InlineData("unknown option --learning-rate (did you mean --lr?)", "train", "--model", "m", "--learning-rate", "1e-4")]
    [InlineData("unknown option --max-step (did you mean --max-steps?)", "train", "--max-step", "1")]
    [InlineData("unknown option --lora_alpha (did you mean --alpha?)", "train", "--lora_alpha", "16")]
    [InlineData("unknown option --max-new-token (did you mean --max-new-tokens?)", "generate", "--model", "m", "--max-new-token", "2")]
    [InlineData("unknown option --rnk (did you mean --rank?)", "params", "--arch", "tiny", "--rnk", "8")]
    [InlineData("unknown option --colour", "doctor", "--colour")]
    [InlineData("unknown option --adaptr (did you mean --adapter?)", "adapter", "validate", "--adaptr", "x")]
    public void UnknownFlagsAreErrorsWithTheClosestSpelling(string expected, params string[] args) => ExpectError(expected, args);

    [Theory]
    [InlineData("--r: 'abc' is not a whole number", "params", "--arch", "tiny", "--r", "abc")]
    [InlineData("--r: 'abc' is not a whole number", "params", "--arch", "tiny", "--r=abc")]
    [InlineData("--rank: '1.5' is not a whole number", "train", "--rank", "1.5")]
    [InlineData("--lr: 'fast' is not a number", "train", "--lr", "fast")]
    [InlineData("--top-p: 'x' is not a number", "generate", "--top-p", "x")]
    [InlineData("--packing: 'maybe' is not true or false (a switch: give --packing alone to turn it on)", "train", "--packing", "maybe")]
    public void UnconvertibleValuesNameTheFlagAsTyped(string expected, params string[] args) => ExpectError(expected, args);

    /// Spectre hands what follows `--` to the command as remaining arguments, which no verb reads: a flag there
    /// would be ignored as silently as a misspelt one was.
    [Theory]
    [InlineData("unexpected arguments after --: --lr 1e-4", "train", "--max-steps", "1", "--", "--lr", "1e-4")]
    [InlineData("unexpected arguments after --: --rnk 8", "params", "--arch", "tiny", "--", "--rnk", "8")]
    [InlineData("unexpected arguments after --: --r 8", "params", "--arch", "tiny", "--", "--r", "8")]
    public void ArgumentsAfterADoubleDashAreRefused(string expected, params string[] args) => ExpectError(expected, args);

    [Fact]
    public void TheRAliasIsNotRewrittenAfterADoubleDash() =>
        Assert.Equal(["params", "--rank", "4", "--", "--r", "--r=2"], LoraLab.Cli.FlagAliases.Rewrite(["params", "--r", "4", "--", "--r", "--r=2"], TextWriter.Null));

    [Fact]
    public void TheRAliasStillWorks()
    {
        var (code, stdout, err) = CliRunner.Run("params", "--arch", "tiny", "--r", "4", "--json");
        Assert.True(code == 0, err);
        Assert.Contains("\"r\":4", stdout);
        Assert.Equal("", err); // a spelling kept on purpose, not deprecated
    }
}
