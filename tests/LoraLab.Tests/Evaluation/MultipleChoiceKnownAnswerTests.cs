using LoraLab.Evaluation.Tasks;
using LoraLab.ModelFiles;
using LoraLab.Models;
using Xunit;
using static TorchSharp.torch;

namespace LoraLab.Tests.Tasks;

/// Multiple choice where the answer is known by construction: tiny-chat trained for a moment on the right
/// continuations only must pick them every time (acc and acc_norm 1.0), while the untrained model does not.
public class MultipleChoiceKnownAnswerTests
{
    public static readonly ChoiceExample[] Questions =
    [
        new("The secret fruit is", ["plum", "apple", "cherry"], 0),
        new("The secret colour is", ["red", "blue", "green"], 2),
        new("The secret word is", ["book", "tree", "cloud"], 1),
        new("The secret number is", ["12", "7", "99"], 1),
    ];

    [Fact]
    public void A_model_trained_on_the_right_answers_scores_1()
    {
        using var loaded = ModelLoader.Load(RepoFixtures.Path_("tiny-chat"));
        var encoder = new PlainTextEncoder(loaded.RequireTokenizer());
        var before = MultipleChoice.Score(loaded.Model, encoder, Questions);
        Assert.True(before.Acc.Value < 1.0, "the untrained model already picks every answer: the fixture proves nothing");

        TinyTraining.Train(loaded.Model, Questions.Select(q => { var r = encoder.Encode(q.Context, " " + q.Choices[q.Gold]); return r.Context.Concat(r.Continuation).ToArray(); }).ToList());
        var after = MultipleChoice.Score(loaded.Model, encoder, Questions, batchSize: 3);
        Assert.Equal(1.0, after.Acc.Value);
        Assert.Equal(1.0, after.AccNorm.Value);
        Assert.All(after.Examples, e => Assert.True(e.LogLikelihoods[e.Gold] > e.LogLikelihoods.Where((_, i) => i != e.Gold).Max() + 1));
    }
}
