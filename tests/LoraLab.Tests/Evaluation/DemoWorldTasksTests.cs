using LoraLab.Data.Demo;
using LoraLab.Evaluation.Tasks;
using Xunit;

namespace LoraLab.Tests.Tasks;

/// The demo's built-in tasks are made from its held-out examples: counting as multiple choice, the first word as exact match.
public class DemoWorldTasksTests
{
    [Fact]
    public void Counting_is_a_choice_among_one_to_five_with_the_right_count_as_gold_and_first_word_is_exact_match()
    {
        var (_, heldOut) = DemoTasks.Generate(seed: 7, trainPerTask: 5, heldOutPerTask: 6);
        var counting = DemoWorldTasks.Counting(heldOut);
        Assert.Equal(6, counting.Count);
        Assert.All(counting, q =>
        {
            Assert.Equal(["one", "two", "three", "four", "five"], q.Choices);
            Assert.Equal(q.Input!.Split(' ').Length - 1, q.Gold);
            Assert.Equal("Count the words.", q.Context);
        });
        var first = DemoWorldTasks.FirstWord(heldOut);
        Assert.Equal(6, first.Count);
        Assert.All(first, q => Assert.Equal(q.Input!.Split(' ')[0], q.Answer));
    }
}
