using System.Text.RegularExpressions;
using LoraLab.Data;
using LoraLab.Data.Demo;
using Xunit;

namespace LoraLab.Tests.Demo;

public class DemoDataTests
{
    [Fact]
    public void CorpusIsDeterministicAndSeedDependent()
    {
        var a = DemoCorpus.Text(7, 20_000);
        Assert.Equal(a, DemoCorpus.Text(7, 20_000));
        Assert.NotEqual(a, DemoCorpus.Text(8, 20_000));
        Assert.InRange(a.Length, 20_000, 22_000);
    }

    [Fact]
    public void CorpusNeverUsesTheInstructionFormat()
    {
        var text = DemoCorpus.Text(1, 200_000);
        foreach (var marker in new[] { "###", "Instruction", "Response", "Input:" })
            Assert.DoesNotContain(marker, text);
        foreach (var task in DemoTasks.All) Assert.DoesNotContain(task.Instruction, text);
    }

    [Fact]
    public void CorpusStatesEachFruitWithOneColourOnly()
    {
        var text = DemoCorpus.Text(3, 400_000);
        foreach (var (fruit, color) in DemoVocabulary.Fruits)
        {
            var stated = Regex.Matches(text, $@"\b{fruit} is (?:always )?(\w+)\.").Select(m => m.Groups[1].Value).ToList();
            Assert.NotEmpty(stated);
            Assert.All(stated, c => Assert.Equal(color, c));
        }
    }

    [Fact]
    public void TasksAreDeterministic()
    {
        var (t1, h1) = DemoTasks.Generate(5, 50, 10);
        var (t2, h2) = DemoTasks.Generate(5, 50, 10);
        Assert.Equal(t1, t2);
        Assert.Equal(h1, h2);
        Assert.NotEqual(t1, DemoTasks.Generate(6, 50, 10).Train);
    }

    [Fact]
    public void HeldOutInputsAreNeverSeenInTraining()
    {
        var (train, held) = DemoTasks.Generate(11);
        Assert.Equal(DemoTasks.All.Count * 400, train.Count);
        foreach (var task in DemoTasks.All)
        {
            var trainInputs = train.Where(e => e.Task == task.Name).Select(e => e.Input).ToHashSet();
            var heldInputs = held.Where(e => e.Task == task.Name).Select(e => e.Input).ToList();
            Assert.True(heldInputs.Count >= 20, $"{task.Name}: only {heldInputs.Count} held-out examples");
            Assert.Equal(heldInputs.Count, heldInputs.Distinct().Count());
            Assert.DoesNotContain(heldInputs, trainInputs.Contains);
            // Every held-out input has a word that no training input of any task uses.
            var trainWords = train.SelectMany(e => e.Input.Split(' ')).ToHashSet();
            Assert.All(heldInputs, i => Assert.Contains(i.Split(' '), w => !trainWords.Contains(w)));
        }
    }

    [Theory]
    [InlineData("repeat", "fox", "fox fox")]
    [InlineData("first", "cat dog bird", "cat")]
    [InlineData("count", "cat dog bird", "three")]
    public void TaskRules(string task, string input, string output) =>
        Assert.Equal(output, DemoTasks.All.Single(t => t.Name == task).Answer(input));

    [Fact]
    public void WrittenDatasetsLoadAsAlpacaRecords()
    {
        var (train, held) = DemoTasks.Generate(2, 20, 5);
        var path = Path.Combine(TempDir.New("demo"), "train.json");
        try
        {
            DemoTasks.WriteAlpacaJson(path, train);
            var records = DatasetReader.Load(path);
            Assert.Equal(train.Count, records.Count);
            var back = DemoTasks.FromRecords(records);
            Assert.Equal(train, back);
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, true); }
    }
}
