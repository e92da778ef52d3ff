using LoraLab.Evaluation.Tasks;
using LoraLab.ModelFiles;
using Xunit;

namespace LoraLab.Tests.Tasks;

/// Generation tasks: greedy replies scored by exact match after trimming, or by the first capture group of --answer-regex.
public class GenerationTaskTests
{
    static readonly GenerationExample[] Sums = [new("What is 98 plus 45?", "143"), new("What is 17 plus 26?", "43"), new("What is 60 plus 9?", "69")];

    [Fact]
    public void Arithmetic_answers_learnt_by_heart_score_1_and_the_untrained_model_does_not()
    {
        using var loaded = ModelLoader.Load(RepoFixtures.Path_("tiny-chat"));
        var tok = loaded.RequireTokenizer();
        var encoding = PromptEncoding.Plain(tok);
        var before = GenerationTask.Score(loaded.Model, tok, encoding, Sums, maxNewTokens: 6);
        Assert.Equal(0.0, before.ExactMatch.Value);

        TinyTraining.Train(loaded.Model, Sums.Select(e => tok.Encode(e.Prompt + " " + e.Answer, addBos: tok.AddBosByDefault).Append(tok.EosId!.Value).ToArray()).ToList());
        var after = GenerationTask.Score(loaded.Model, tok, encoding, Sums, maxNewTokens: 6);
        Assert.All(after.Examples, e => Assert.Equal(e.Answer, e.Prediction));
        Assert.Equal(1.0, after.ExactMatch.Value);
        Assert.Equal(0.0, after.ExactMatch.StdErr);
    }

    [Theory]
    [InlineData("  143  \nWhat is 1 plus 1?", null, "143")]
    [InlineData("The answer is 143.", @"answer is (\d+)", "143")]
    [InlineData("The answer is 143.", @"\d+", "143")]
    [InlineData("no number here", @"(\d+)", "")]
    public void The_prediction_is_the_first_line_or_the_first_capture_group(string reply, string? pattern, string expected) =>
        Assert.Equal(expected, GenerationTask.Extract(reply, GenerationTask.Pattern(pattern)));

    [Fact]
    public void A_bad_answer_regex_is_a_user_error_naming_the_flag() =>
        Assert.StartsWith("--answer-regex (", Assert.Throws<UserException>(() => GenerationTask.Pattern("(")).Message);
}
